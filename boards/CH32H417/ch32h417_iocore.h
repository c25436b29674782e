/* The V3F as the V5F's reader of weight chunks (issue 12; README.md "Two cores"): the protocol
 * both images share. Plain C, no MicroPython headers.
 *
 * The V5F (ch32h417_iocore.c) maps the weight file onto card blocks once (the FAT cluster chain
 * as extents), then per chunk writes a request into the mailbox, rings the request doorbell and
 * sends an event (the V3F sleeps in WFE between requests). The V3F (v3f/v3f_server.c) reads the
 * blocks by DMA straight into the destination, computes the CRC-32 of each block while the next
 * one moves, writes the result and rings the done doorbell. The V5F polls the done doorbell.
 *
 * Doorbells are status bits of the IPC mailbox (ch32h417_regs.h IPC_*): channel 0 bit 0 = a
 * request is waiting (set by the V5F, cleared by the V3F when it takes it), channel 1 bit 0 = the
 * request is done (set by the V3F, cleared by the V5F). The SD controller itself is guarded by a
 * hardware semaphore (ch32h417_sdmmc.c): the V5F's FAT file system reads the card too.
 *
 * The CRC is shared out by who has time: the V3F's CRC (about 6 instructions a byte at 100 MHz)
 * is slower than the bus, so where the V5F computes little per byte (the first layer) it would
 * wait for the V3F's CRC, not for the data. Once the V5F waits for a request it says so
 * (v5f_waiting); the V3F then stops computing the CRC and only moves data, and the V5F, four
 * times faster, finishes the CRC from where the V3F got to (crc covers the first crc_bytes).
 */
#ifndef CH32H417_IOCORE_H
#define CH32H417_IOCORE_H

#include <stdint.h>

#include "ch32h417_sdmmc.h"

#define IO_DOORBELL_REQUEST  (1u << 0)   /* IPC channel 0, status bit 0 */
#define IO_DOORBELL_DONE     (1u << 8)   /* IPC channel 1, status bit 0 */
#define IO_MAX_EXTENTS       64u         /* contiguous runs of the file on the card */

enum { IO_OP_NONE = 0, IO_OP_READ = 1 };

/* A run of the file: file blocks [file_block, file_block + blocks) are card blocks from lba on. */
typedef struct {
    uint32_t file_block, lba, blocks;
} io_extent;

typedef struct {
    /* the V5F writes these before ringing the request doorbell */
    uint32_t op;
    uint32_t file_offset;    /* bytes, a multiple of SD_BLOCK_SIZE */
    uint32_t len;            /* bytes, a multiple of SD_BLOCK_SIZE */
    uint32_t dst;            /* address the V3F writes to (shared SRAM: DMA straight in) */
    sd_card_t card;          /* the card as the V5F's sd_init found it; the V3F writes it back */
    uint32_t n_extents;
    io_extent extent[IO_MAX_EXTENTS];
    volatile uint32_t v5f_waiting;   /* set by the V5F once it waits: leave it the CRC */
    /* the V3F writes these before ringing the done doorbell */
    int32_t status;          /* sd_status_t, or IO_STATUS_OUTSIDE_FILE */
    uint32_t crc;            /* tg_crc32 of the first crc_bytes delivered */
    uint32_t crc_bytes;
    uint32_t served;         /* requests served since the V3F started (diagnostics) */
} io_mailbox;

#define IO_STATUS_OUTSIDE_FILE (-1)      /* the request is not covered by the extents */

/* At the start of the V3F's slice of shared SRAM (memory.ld __io_mailbox). */
extern io_mailbox io_mbox;

#endif
