/* The V5F's side of the V3F chunk reader (protocol: ch32h417_iocore.h; README.md "Two cores").
 *
 * tinygan_board_source() is the board hook of usermod_tinygan/modtinygan.c: for a weight file on
 * the SD card's FAT file system it maps the file onto card blocks once (the cluster chain, merged
 * into contiguous extents) and gives the engine an asynchronous source (tg_source start/wait/
 * last_crc) whose reads the V3F does, into a double buffer here in shared SRAM (the arena is in
 * DTCM, which the SDMMC DMA cannot reach). Anything else (a file on another file system, one
 * fragmented into more than IO_MAX_EXTENTS runs) keeps the binding's synchronous reads. */
#include "py/runtime.h"
#include "extmod/vfs_fat.h"
#include "lib/oofatfs/ff.h"

#include "ch32h417_iocore.h"
#include "ch32h417_regs.h"
#include "ch32h417_sdmmc.h"
#include "ch32h417_sdcard.h"
#include "console.h"
#include "tg_engine.h"
#include "tinygan_board.h"

/* The double buffer's halves: the default model's largest chunk (layer 1). A layer with larger
 * chunks is double-buffered in the arena instead (tg_source.buffer_size), which the V3F reaches
 * only through its bounce buffer: still correct, slower. */
#define IO_CHUNK_BUFFER     16384u
/* The V3F's slowest honest answer: a transfer with all its retries and time-outs
 * (ch32h417_sdmmc.c) is below 2 s. */
#define IO_ANSWER_US        5000000u

static uint8_t chunk_buffer[2][IO_CHUNK_BUFFER] __attribute__((section(".dma.chunks"), aligned(16)));

/* vfs_fat_file.c's file object (not in a header): a FatFs FIL after the object header. */
typedef struct {
    mp_obj_base_t base;
    FIL fp;
} fat_file_obj_t;

static bool pending;           /* a request is with the V3F */
static const uint8_t *pending_dst;
static uint32_t pending_len;
/* The last finished asynchronous read, and how far the V3F got with its CRC. */
static struct {
    const uint8_t *dst;
    uint32_t len, crc, crc_bytes;
} delivered;
static const void *mapped;     /* the stream whose extents io_mbox holds (the newest Model's) */

/* The card blocks of a FAT file, as extents into io_mbox; false when the file is not on the SD
 * card or needs more than IO_MAX_EXTENTS runs. Walks the cluster chain with f_lseek, which
 * follows it forward without reading file data when it stops at a cluster boundary. */
static bool map_file(mp_obj_t stream)
{
    if (!mp_obj_is_type(stream, &mp_type_vfs_fat_fileio)) {
        return false;
    }
    FIL *fp = &((fat_file_obj_t *)MP_OBJ_TO_PTR(stream))->fp;
    FATFS *fs = fp->obj.fs;
    fs_user_mount_t *vfs = (fs_user_mount_t *)fs->drv;
    if (!ch32h417_sdcard_is(vfs->blockdev.readblocks[1]) || fs->csize == 0) {
        return false;
    }
    const uint32_t cluster_bytes = (uint32_t)fs->csize * SD_BLOCK_SIZE;
    const uint32_t size = (uint32_t)fp->obj.objsize;
    FSIZE_t was = fp->fptr;
    uint32_t n = 0;
    bool ok = size > 0;
    for (uint32_t off = 0; ok && off < size; off += cluster_bytes) {
        /* seeking to the end of cluster k leaves fp->clust = cluster k */
        uint32_t end = size - off > cluster_bytes ? off + cluster_bytes : size;
        ok = f_lseek(fp, end) == FR_OK && fp->clust >= 2;
        if (!ok) {
            break;
        }
        uint32_t lba = fs->database + (fp->clust - 2u) * fs->csize;
        uint32_t file_block = off / SD_BLOCK_SIZE;
        io_extent *last = n ? &io_mbox.extent[n - 1] : NULL;
        if (last && last->lba + last->blocks == lba) {
            last->blocks += fs->csize;
        } else if (n < IO_MAX_EXTENTS) {
            io_mbox.extent[n++] = (io_extent){file_block, lba, fs->csize};
        } else {
            ok = false;
        }
    }
    f_lseek(fp, was);
    io_mbox.n_extents = ok ? n : 0;
    return ok;
}

/* The V3F answered (true) or IO_ANSWER_US passed. */
static bool answered(void)
{
    uint64_t give_up = board_ticks_us() + IO_ANSWER_US;
    while (!(IPC_ISR & IO_DOORBELL_DONE)) {
        if (board_ticks_us() > give_up) {
            return false;
        }
    }
    return true;
}

/* The end of the request in flight; with_crc: keep what the CRC of what it delivered needs (the
 * V3F stops computing it once this core waits: ch32h417_iocore.h). */
static int finish(bool with_crc)
{
    if (!pending) {
        return -1;
    }
    pending = false;
    io_mbox.v5f_waiting = 1;                     /* from here the V3F leaves the CRC to this core */
    if (!answered()) {
        mapped = NULL;      /* a V3F that stopped answering gets no more requests from this Model */
        return -1;          /* the engine names the layer and chunk */
    }
    IPC_CLR = IO_DOORBELL_DONE;
    __asm volatile ("fence" ::: "memory");       /* the results after the doorbell */
    sd_card.ready = io_mbox.card.ready;          /* a card the V3F lost is initialised again */
    sd_card.retries = io_mbox.card.retries;
    if (io_mbox.status != SD_OK) {
        return -1;
    }
    if (with_crc) {         /* finished in iocore_last_crc, while the V3F reads the next chunk */
        delivered.dst = pending_dst;
        delivered.len = pending_len;
        delivered.crc = io_mbox.crc;
        delivered.crc_bytes = io_mbox.crc_bytes < pending_len ? io_mbox.crc_bytes : pending_len;
    }
    return 0;
}

static int iocore_wait(void *ctx)
{
    (void)ctx;
    return finish(true);
}

/* Asks the V3F for [offset, offset + len) of the mapped file into dst. */
static int request(const void *ctx, uint32_t offset, void *dst, uint32_t len, bool v5f_waits)
{
    if (pending) {
        finish(false);      /* a read left in flight (a cancelled generate) ends first */
    }
    if (ctx != mapped || !sd_card.ready || offset % SD_BLOCK_SIZE || len % SD_BLOCK_SIZE) {
        return -1;          /* an older Model's file, a lost card: the engine names the chunk */
    }
    io_mbox.op = IO_OP_READ;
    io_mbox.file_offset = offset;
    io_mbox.len = len;
    io_mbox.dst = (uint32_t)dst;
    io_mbox.card = sd_card;
    io_mbox.v5f_waiting = v5f_waits;
    pending_dst = (const uint8_t *)dst;
    pending_len = len;
    __asm volatile ("fence" ::: "memory");       /* the request before the doorbell */
    IPC_SET = IO_DOORBELL_REQUEST;
    PFIC_SCTLR |= PFIC_SCTLR_SETEVENT;           /* wakes the V3F from its WFE */
    pending = true;
    return 0;
}

static int iocore_start(void *ctx, uint32_t offset, void *dst, uint32_t len)
{
    return request(ctx, offset, dst, len, false);
}

/* Blocking reads (the header, parameter blocks) go through the V3F as well, without a CRC (the
 * engine checks those itself): on a FAT volume with small clusters a seek of the V5F's own file
 * object walks thousands of FAT entries (about 10 ms per layer on a 512-byte-cluster card). Reads
 * that are not whole blocks take the stream. */
static int (*stream_read)(void *ctx, uint32_t offset, void *dst, uint32_t len);

static int iocore_read(void *ctx, uint32_t offset, void *dst, uint32_t len)
{
    if (request(ctx, offset, dst, len, true) == 0) {
        return finish(false);
    }
    return stream_read(ctx, offset, dst, len);
}

static uint32_t iocore_last_crc(void *ctx)
{
    (void)ctx;
    return tg_crc32(delivered.crc, delivered.dst + delivered.crc_bytes, delivered.len - delivered.crc_bytes);
}

bool tinygan_board_source(mp_obj_t stream, const tg_model *m, tg_source *src)
{
    for (int i = 0; i < m->n_layers; i++) {
        const tg_layer *l = &m->layers[i];
        if (l->chunk_offset % SD_BLOCK_SIZE || l->chunk_stride % SD_BLOCK_SIZE) {
            return false;
        }
    }
    if (pending) {
        finish(false);      /* the mailbox's extents change under no read */
    }
    if (!map_file(stream)) {
        mapped = NULL;
        return false;
    }
    mapped = MP_OBJ_TO_PTR(stream);
    stream_read = src->read;
    src->read = iocore_read;
    src->start = iocore_start;
    src->wait = iocore_wait;
    src->last_crc = iocore_last_crc;
    src->buffer[0] = chunk_buffer[0];
    src->buffer[1] = chunk_buffer[1];
    src->buffer_size = IO_CHUNK_BUFFER;
    return true;
}
