/* SD card on the CH32H417's SDMMC controller (0x40024000, its own DMA), 4-bit bus: card
 * initialisation, block reads and writes. Plain C (no MicroPython headers): the block device of
 * ch32h417_sdcard.c is built on it, and the V3F's chunk reader (v3f/v3f_server.c) too; the two
 * cores share the controller through a hardware semaphore. README.md, "SD card". */
#ifndef CH32H417_SDMMC_H
#define CH32H417_SDMMC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SD_BLOCK_SIZE 512u
/* A failed data transfer (time-out, CRC error, a command without answer) is tried again this
 * many times before the call gives up. */
#define SD_RETRIES 3u

typedef enum {
    SD_OK = 0,
    SD_NO_CARD,         /* no answer to CMD0/CMD8/ACMD41: no card in the slot */
    SD_UNUSABLE,        /* a card that answers wrongly (voltage, pattern, never ready) */
    SD_CMD_TIMEOUT,     /* a command got no response */
    SD_CMD_CRC,         /* a response with a wrong CRC or index */
    SD_DATA_TIMEOUT,
    SD_DATA_CRC,
    SD_BUSY_TIMEOUT,    /* DAT0 held low (card busy) for longer than the write time-out */
    SD_RANGE,           /* blocks outside the card */
    SD_LOCKED,          /* the other core kept the controller (its hardware semaphore) too long */
} sd_status_t;

typedef struct {
    bool ready;             /* sd_init() succeeded and nothing since has lost the card */
    bool block_addressed;   /* SDHC/SDXC (OCR CCS): commands take block numbers, not bytes */
    bool high_speed;        /* CMD6 switched the card to high speed (50 MHz) */
    uint16_t rca;           /* relative card address from CMD3 */
    uint32_t blocks;        /* capacity in 512-byte blocks, from the CSD */
    uint32_t sd_clock_hz;   /* the SD clock set for data transfer */
    uint32_t retries;       /* transfers tried again since sd_init (diagnostics) */
} sd_card_t;

extern sd_card_t sd_card;

/* Powers the pins, resets the controller and runs the card initialisation of the SD Physical
 * Layer Simplified Specification; fills sd_card. */
sd_status_t sd_init(void);
/* count blocks from block `first` to/from buf; any address and alignment (bounced through the
 * .dma buffer when the controller's DMA cannot use buf directly). Retries, then fails. */
sd_status_t sd_read(uint32_t first, uint32_t count, uint8_t *buf);
sd_status_t sd_write(uint32_t first, uint32_t count, const uint8_t *buf);
/* sd_read, telling fn(ctx, i, block) about each block i (0 .. count-1, at buf + 512 i) as soon as
 * it has landed, while the controller moves the next. A retried transfer hands its blocks over
 * again, so i may go back; fn must then redo its work from there. */
typedef void (*sd_block_fn)(void *ctx, uint32_t index, const uint8_t *block);
sd_status_t sd_read_stream(uint32_t first, uint32_t count, uint8_t *buf, sd_block_fn fn, void *ctx);
/* A short text for a status ("no card", "data CRC error", ...). */
const char *sd_status_text(sd_status_t status);

#endif
