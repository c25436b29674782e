/* The V3F's work after start-up: the V5F's reader of weight chunks (protocol: ../ch32h417_iocore.h).
 *
 * Each request names a byte range of the weight file; the extents in the mailbox map it onto card
 * blocks. The blocks go by the SDMMC DMA straight into the destination the V5F gave (its chunk
 * buffers in shared SRAM), and the CRC-32 of each block is computed as soon as it has landed,
 * while the controller moves the next one: on this core the CRC (about 6 instructions a byte)
 * and the bus (50 MHz, 4 bits) take about the same time, so overlapping them halves the time per
 * chunk. The V5F then only compares the CRC with the expected one, or finishes it when it had to
 * wait (ch32h417_iocore.h). Between requests the V3F sleeps waiting for an event (the vendor's
 * pattern, __WFE). */
#include <stdbool.h>
#include <stdint.h>

#include "ch32h417_iocore.h"
#include "ch32h417_regs.h"
#include "ch32h417_sdmmc.h"
#include "ch32h417_ticks.h"
#include "tg_engine.h"

void v3f_serve(void) __attribute__((noreturn));

/* The CRC of a request's first `blocks` blocks. A retried transfer hands blocks over again from
 * an earlier index: the CRC is then recomputed over what the buffer holds before that index.
 * Once the V5F waits (ch32h417_iocore.h) the CRC stops where it is and the V5F finishes it. */
typedef struct {
    const uint8_t *base;    /* the request's destination */
    uint32_t call_first;    /* request block of the current sd_read_stream call's block 0 */
    uint32_t blocks;
    uint32_t crc;
    bool left_to_v5f;
} crc_run;

static void crc_block(void *ctx, uint32_t index, const uint8_t *block)
{
    crc_run *r = (crc_run *)ctx;
    uint32_t at = r->call_first + index;
    if (r->left_to_v5f || (r->left_to_v5f = io_mbox.v5f_waiting != 0)) {
        return;
    }
    if (at != r->blocks) {
        r->crc = tg_crc32(0, r->base, at * SD_BLOCK_SIZE);
    }
    r->crc = tg_crc32(r->crc, block, SD_BLOCK_SIZE);
    r->blocks = at + 1;
}

static const io_extent *extent_of(const io_mailbox *mb, uint32_t file_block)
{
    for (uint32_t i = 0; i < mb->n_extents && i < IO_MAX_EXTENTS; i++) {
        const io_extent *e = &mb->extent[i];
        if (file_block >= e->file_block && file_block - e->file_block < e->blocks) {
            return e;
        }
    }
    return 0;
}

static int32_t serve_read(io_mailbox *mb)
{
    if (mb->file_offset % SD_BLOCK_SIZE || mb->len % SD_BLOCK_SIZE) {
        return IO_STATUS_OUTSIDE_FILE;
    }
    uint32_t block = mb->file_offset / SD_BLOCK_SIZE, left = mb->len / SD_BLOCK_SIZE;
    uint8_t *dst = (uint8_t *)mb->dst;
    crc_run r = {dst, 0, 0, 0, false};
    while (left) {
        const io_extent *e = extent_of(mb, block);
        if (!e) {
            return IO_STATUS_OUTSIDE_FILE;
        }
        uint32_t n = e->file_block + e->blocks - block;
        n = n < left ? n : left;
        r.call_first = (uint32_t)(dst - r.base) / SD_BLOCK_SIZE;
        sd_status_t st = sd_read_stream(e->lba + (block - e->file_block), n, dst, crc_block, &r);
        if (st != SD_OK) {
            return (int32_t)st;
        }
        block += n;
        left -= n;
        dst += n * SD_BLOCK_SIZE;
    }
    mb->crc = r.crc;
    mb->crc_bytes = r.blocks * SD_BLOCK_SIZE;
    return SD_OK;
}

/* __WFE (core_riscv.h): wfi with SCTLR.WFITOWFE set waits for an event; an event sent while this
 * core was awake is latched, so a request rung just before the wfi is not missed. The vendor V3F
 * sleeps in STOP mode (PWR_EnterSTOPMode(..., PWR_STOPEntry_WFE)); SLEEPDEEP stays clear here so
 * only this core's clock stops: what STOP does to a running V5F is not documented in the SDK. No
 * interrupt is enabled on this core. */
static void wait_for_event(void)
{
    PFIC_SCTLR = (PFIC_SCTLR & ~PFIC_SCTLR_SLEEPDEEP) | PFIC_SCTLR_WFITOWFE;
    __asm volatile ("wfi");
}

void v3f_serve(void)
{
    ch32_ticks_init();      /* the SD driver's time-outs */
    for (;;) {
        while (!(IPC_ISR & IO_DOORBELL_REQUEST)) {
            wait_for_event();
        }
        IPC_CLR = IO_DOORBELL_REQUEST;
        __asm volatile ("fence" ::: "memory");   /* the request fields after the doorbell */
        sd_card = io_mbox.card;
        io_mbox.status = io_mbox.op == IO_OP_READ ? serve_read(&io_mbox) : IO_STATUS_OUTSIDE_FILE;
        io_mbox.card = sd_card;                   /* retries, and ready = false for a lost card */
        io_mbox.served++;
        __asm volatile ("fence" ::: "memory");   /* the results before the doorbell */
        IPC_SET = IO_DOORBELL_DONE;
    }
}
