/* SD card on the CH32H417's SDMMC controller, polled, 4-bit bus, the controller's own DMA.
 *
 * Registers: ch32h417_regs.h, read in the vendor's ch32h417.h (SDMMC_TypeDef) and
 * ch32h417_sdmmc.c. The order of the register writes for a transfer (block configuration cleared
 * first, then transfer mode, block size/count and DMA address; for reads before the command, for
 * writes after it; the block gaps of a multi-block read; WRITE_CONT between written blocks), the
 * pins and the power-up come from the vendor's SD example, EVT/EXAM/SDMMC/SDMMC_SD/Common/
 * sdmmc_sd.c and hardware.c. The card protocol is the SD Physical Layer Simplified Specification
 * (section 4.2 card initialisation, 4.3.10 CMD6, 4.9 responses, 5.3 CSD). Written for this
 * project, no vendor code. README.md ("SD card") has the clocks and the reasons.
 */
#include <string.h>

#include "ch32h417_regs.h"
#include "ch32h417_sdmmc.h"
#include "console.h"

/* SD clock (SDCK): SYSCLK / DIV in the controller's high-speed clock mode, a further /64 in its
 * low-speed mode (the SDK gives DIV as a 5-bit field and the two modes but no formula; the formula
 * is ArduinoCore-CH32H4's, ../shared/CH32H417.md). At the 400 MHz preset: */
#define SD_DIV_IDENT        31u     /* low mode: 400 MHz / 31 / 64 = 201.6 kHz (identification: <= 400 kHz) */
#define SD_DIV_DEFAULT      16u     /* high mode: 400 / 16 = 25 MHz (default speed: <= 25 MHz) */
#define SD_DIV_HIGH_SPEED   8u      /* high mode: 400 / 8 = 50 MHz (high speed after CMD6: <= 50 MHz) */
#define SD_TIMEOUT_COUNT    0x0Cu   /* TIMEOUT register: the SD example's value */

/* Software time limits, above the card's own (spec 4.6.2: read 100 ms, write 250 ms SDHC /
 * 500 ms SDXC; ACMD41 1 s); they catch a controller that never raises a flag. */
#define SD_CMD_US           100000u
#define SD_DATA_US          250000u  /* + SD_DATA_PER_BLOCK_US per block */
#define SD_DATA_PER_BLOCK_US 2000u
#define SD_BUSY_US          500000u
#define SD_READY_US         1000000u

/* Shared SRAM, the only memory the SDMMC DMA reaches (not ITCM/DTCM): ch32h417.h SRAM_BASE,
 * 512 KiB (../shared/CH32H417.md). */
#define SD_SRAM_START       0x20100000u
#define SD_SRAM_END         0x20180000u
#define SD_DMA_ALIGN        16u      /* DMA_BEG1 must be 16-byte aligned (SDMMC_DMADDR_ALIGN_SIZE) */
/* The bounce buffer: for data in DTCM/ITCM/flash or not 16-byte aligned. */
#define SD_BOUNCE_BLOCKS    16u
/* Blocks per command when the DMA goes straight to the caller's buffer. */
#define SD_DIRECT_BLOCKS    128u

/* Both cores drive this controller: the V5F for its FAT file system, the V3F for weight chunks
 * (ch32h417_iocore.h). Each public call holds hardware semaphore SD_HSEM, taken the way the
 * SDK's HSEM_Take does it (ch32h417_regs.h); a core that cannot get it within SD_LOCK_US (the
 * other core's longest transfer with all its retries is well below) gives up with SD_LOCKED. */
#define SD_HSEM             1u
#define SD_HSEM_PROCESS     0u
#define SD_LOCK_US          5000000u

/* Commands (Simplified Specification 4.7.4) */
#define CMD_GO_IDLE         0
#define CMD_ALL_SEND_CID    2
#define CMD_SEND_RCA        3
#define CMD_SWITCH_FUNC     6
#define ACMD_SET_BUS_WIDTH  6
#define CMD_SELECT_CARD     7
#define CMD_SEND_IF_COND    8
#define CMD_SEND_CSD        9
#define CMD_STOP            12
#define CMD_SEND_STATUS     13
#define CMD_SET_BLOCKLEN    16
#define CMD_READ_SINGLE     17
#define CMD_READ_MULTI      18
#define CMD_WRITE_SINGLE    24
#define CMD_WRITE_MULTI     25
#define ACMD_SD_SEND_OP     41
#define CMD_APP             55

#define IF_COND_PATTERN     0x1AAu       /* CMD8: 2.7-3.6 V, check pattern 0xAA */
#define OCR_BUSY            0x80000000u  /* power-up finished */
#define OCR_CCS             0x40000000u  /* card capacity status: SDHC/SDXC, block addressing */
#define OCR_HCS             0x40000000u  /* host supports high capacity (ACMD41 argument) */
#define OCR_WINDOW          0x00FF8000u  /* 2.7-3.6 V */
#define SWITCH_HIGH_SPEED   0x80FFFFF1u  /* CMD6 mode 1 (switch), group 1 = function 1 (high speed) */
#define SWITCH_STATUS_BYTES 64u
/* R1 card status bits that make a data command fail (spec 4.10.1): out of range, address,
 * block length, write protect, lock failed, CRC, illegal, ECC, controller, general, CSD overwrite. */
#define R1_ERRORS           0xE5F90000u

/* Response kinds: what CMD_SET gets. R1/R6/R7 carry the index and a CRC7 the controller checks;
 * R2 (CID/CSD, 136 bits) and R3 (OCR) have neither (spec 4.9). R1b is sent as R1 and the busy
 * signal on DAT0 polled, as the SD example does for CMD7 and CMD12. */
#define RESP_NONE   SDMMC_RESP_NONE
#define RESP_R1     (SDMMC_RESP_48 | SDMMC_CKCRC | SDMMC_CKIDX)
#define RESP_R2     SDMMC_RESP_136
#define RESP_R3     SDMMC_RESP_48

#define CMD_FLAGS   (SDMMC_IF_CMDDONE | SDMMC_IF_RE_TMOUT | SDMMC_IF_RECRC_WR | SDMMC_IF_REIDX_ER)
#define DATA_FLAGS  (SDMMC_IF_TRANDONE | SDMMC_IF_BKGAP | SDMMC_IF_TRANERR | SDMMC_IF_FIFO_OV | SDMMC_IF_DATTMO)

sd_card_t sd_card;

/* In the board's .dma region of shared SRAM (v5f.ld), 16-byte aligned. */
static uint8_t sd_dma_buf[SD_BOUNCE_BLOCKS * SD_BLOCK_SIZE] __attribute__((section(".dma.sd"), aligned(SD_DMA_ALIGN)));

static uint64_t deadline_after(uint32_t us)
{
    return board_ticks_us() + us;
}

static bool expired(uint64_t deadline)
{
    return board_ticks_us() > deadline;
}

/* board_wait_us returns early when a character arrives; the card's delays must not. */
static void delay_us(uint32_t us)
{
    uint64_t end = deadline_after(us);
    while (!expired(end)) {
    }
}

static void set_clock(bool high_mode, uint32_t div)
{
    SDMMC_CLK_DIV = (high_mode ? SDMMC_CLKMODE_HIGH : 0u) | (div & SDMMC_DIV_MASK) | SDMMC_CLKOE;
    sd_card.sd_clock_hz = CH32_SYSCLK_HZ / div / (high_mode ? 1u : 64u);
}

/* ---------------------------------------------------------------- commands */

static sd_status_t command(uint8_t index, uint32_t arg, uint16_t resp)
{
    SDMMC_INT_FG = CMD_FLAGS;
    SDMMC_ARGUMENT = arg;
    SDMMC_CMD_SET = (uint16_t)((index & SDMMC_CMDIDX_MASK) | resp);
    uint64_t deadline = deadline_after(SD_CMD_US);
    uint16_t flags;
    while (!((flags = SDMMC_INT_FG) & CMD_FLAGS)) {
        if (expired(deadline)) {
            return SD_CMD_TIMEOUT;
        }
    }
    SDMMC_INT_FG = flags & CMD_FLAGS;
    if (flags & SDMMC_IF_RE_TMOUT) {
        return SD_CMD_TIMEOUT;
    }
    if (flags & (SDMMC_IF_RECRC_WR | SDMMC_IF_REIDX_ER)) {
        return SD_CMD_CRC;
    }
    return SD_OK;
}

/* The 32 bits of a 48-bit response (R1 status, R3 OCR, R6 RCA, R7 echo): RESPONSE3, where the
 * SD example reads the OCR and the RCA. */
static uint32_t response32(void)
{
    return SDMMC_RESPONSE(3);
}

/* A 136-bit response as words [0] = bits 127..96 ... [3] = bits 31..0 (the SD example's
 * CSD_Tab: RESPONSE3 first). */
static void response128(uint32_t w[4])
{
    for (unsigned i = 0; i < 4; i++) {
        w[i] = SDMMC_RESPONSE(3 - i);
    }
}

/* Bits hi..lo (at most 32) of a 128-bit register held as response128 gives it. */
static uint32_t reg_bits(const uint32_t w[4], unsigned hi, unsigned lo)
{
    uint32_t v = 0;
    for (unsigned b = hi + 1; b-- > lo;) {
        v = (v << 1) | ((w[3 - b / 32] >> (b % 32)) & 1u);
    }
    return v;
}

static sd_status_t app_command(uint8_t index, uint32_t arg, uint16_t resp)
{
    sd_status_t st = command(CMD_APP, (uint32_t)sd_card.rca << 16, RESP_R1);
    return st != SD_OK ? st : command(index, arg, resp);
}

static sd_status_t wait_not_busy(uint32_t us)
{
    uint64_t deadline = deadline_after(us);
    while (!(SDMMC_STATUS & SDMMC_DAT0STA)) {
        if (expired(deadline)) {
            return SD_BUSY_TIMEOUT;
        }
    }
    return SD_OK;
}

/* A data command with an R1 response: the command and the card status it returns. */
static sd_status_t data_command(uint8_t index, uint32_t arg)
{
    sd_status_t st = command(index, arg, RESP_R1);
    if (st == SD_OK && (response32() & R1_ERRORS)) {
        st = (response32() & 0xC0000000u) ? SD_RANGE : SD_CMD_CRC;
    }
    return st;
}

/* ---------------------------------------------------------------- data transfers */

/* The SD example's set-up of a transfer: block configuration to 0 first ("MUST Config to 0
 * first"), transfer mode, then block size and count, then the DMA address. */
static void data_setup(uint32_t mode, uint32_t block_size, uint32_t count, uint32_t dma_addr)
{
    SDMMC_INT_FG = DATA_FLAGS;
    SDMMC_BLOCK_CFG = 0;
    SDMMC_TRAN_MODE = mode;
    SDMMC_BLOCK_CFG = (block_size << 16) | count;
    SDMMC_DMA_BEG1 = dma_addr;
}

static uint32_t blocks_done(void)
{
    return SDMMC_STATUS & SDMMC_BLOCK_NUM_MASK;
}

/* What data event flags say (and clears them): SD_OK for a block gap or the transfer done. */
static sd_status_t data_flags(uint16_t flags)
{
    SDMMC_INT_FG = flags & DATA_FLAGS;
    if (flags & SDMMC_IF_DATTMO) {
        return SD_DATA_TIMEOUT;
    }
    if (flags & (SDMMC_IF_TRANERR | SDMMC_IF_FIFO_OV)) {
        return SD_DATA_CRC;
    }
    return SD_OK;
}

/* Waits for the next data event: a block or the transfer done, or an error. */
static sd_status_t data_event(uint64_t deadline)
{
    uint16_t flags;
    while (!((flags = SDMMC_INT_FG) & DATA_FLAGS)) {
        if (expired(deadline)) {
            return SD_DATA_TIMEOUT;
        }
    }
    return data_flags(flags);
}

/* After a failed transfer: the controller's data path idle again for the next try. */
static void data_abort(void)
{
    SDMMC_TRAN_MODE &= ~SDMMC_GAP_STOP;
    SDMMC_BLOCK_CFG = 0;
    SDMMC_INT_FG = DATA_FLAGS;
}

static uint32_t card_address(uint32_t block)
{
    return sd_card.block_addressed ? block : block * SD_BLOCK_SIZE;
}

/* Ends a multi-block transfer (CMD12, then the busy signal). */
static sd_status_t stop_transmission(void)
{
    sd_status_t st = command(CMD_STOP, 0, RESP_R1);
    sd_status_t busy = wait_not_busy(SD_BUSY_US);
    return st != SD_OK ? st : busy;
}

/* Who is told about landed blocks (sd_read_stream): fn(ctx, base + i, block i) for the blocks of
 * one attempt, in order. */
typedef struct {
    sd_block_fn fn;
    void *ctx;
    uint32_t base;
} block_sink;

static void blocks_landed(const block_sink *sink, uint32_t from, uint32_t to, const uint8_t *buf)
{
    for (uint32_t i = from; sink && sink->fn && i < to; i++) {
        sink->fn(sink->ctx, sink->base + i, buf + i * SD_BLOCK_SIZE);
    }
}

/* One attempt at reading count blocks into DMA-reachable memory. With a sink, each block is
 * handed over as soon as it has landed, while the controller moves the next one. */
static sd_status_t read_once(uint32_t first, uint32_t count, uint32_t dma_addr, const block_sink *sink)
{
    bool multi = count > 1;
    sd_status_t st = wait_not_busy(SD_BUSY_US);
    if (st != SD_OK) {
        return st;
    }
    /* multi-block: the controller stops the clock in each block gap (AUTOGAPSTOP) until GAP_STOP
     * is cleared, so the DMA never runs ahead of this loop (the SD example's SD_ReadMultiBlocks) */
    data_setup(multi ? SDMMC_AUTOGAPSTOP : 0u, SD_BLOCK_SIZE, count, dma_addr);
    st = data_command(multi ? CMD_READ_MULTI : CMD_READ_SINGLE, card_address(first));
    uint64_t deadline = deadline_after(SD_DATA_US + SD_DATA_PER_BLOCK_US * count);
    if (!multi) {
        st = st == SD_OK ? data_event(deadline) : st;
        if (st == SD_OK) {
            blocks_landed(sink, 0, 1, (const uint8_t *)dma_addr);
        }
        return st;
    }
    /* a card that answered (even with an error) may be sending: CMD12 brings it back */
    bool command_ok = st != SD_CMD_TIMEOUT;
    /* Events first (each block gap restarts the clock), then one landed block at a time to the
     * sink while the next one moves: whether the controller pauses in every gap or runs on
     * (the SDK does not say what AUTOGAPSTOP does), the sink's work overlaps the transfer. */
    uint32_t handed = 0;
    while (st == SD_OK && handed < count) {
        uint16_t flags = SDMMC_INT_FG & DATA_FLAGS;
        if (flags) {
            st = data_flags(flags);
            SDMMC_TRAN_MODE &= ~SDMMC_GAP_STOP;
            SDMMC_TRAN_MODE |= SDMMC_GAP_STOP;
        } else if (handed < blocks_done()) {
            blocks_landed(sink, handed, handed + 1, (const uint8_t *)dma_addr);
            handed++;
        } else if (expired(deadline)) {
            st = SD_DATA_TIMEOUT;
        }
    }
    SDMMC_TRAN_MODE &= ~SDMMC_GAP_STOP;
    if (command_ok) {
        sd_status_t stop = stop_transmission();
        if (st == SD_OK) {
            st = stop;
        }
    }
    return st;
}

/* One attempt at writing count blocks from DMA-reachable memory; returns once the card has
 * programmed them (DAT0 released), so a returned write survives a power cut. */
static sd_status_t write_once(uint32_t first, uint32_t count, uint32_t dma_addr)
{
    bool multi = count > 1;
    sd_status_t st = wait_not_busy(SD_BUSY_US);
    if (st != SD_OK) {
        return st;
    }
    st = data_command(multi ? CMD_WRITE_MULTI : CMD_WRITE_SINGLE, card_address(first));
    if (st != SD_OK) {
        if (multi && st != SD_CMD_TIMEOUT) {
            stop_transmission();    /* the card may be waiting for data: back to transfer state */
        }
        return st;
    }
    data_setup(SDMMC_DMA_DIR_SEND, SD_BLOCK_SIZE, count, dma_addr);
    uint64_t deadline = deadline_after(SD_DATA_US + SD_DATA_PER_BLOCK_US * count);
    if (!multi) {
        st = data_event(deadline);
    } else {
        /* the SD example's SD_WriteMultiBlocks: the count starts from 0, each block is let go
         * with WRITE_CONT, the configuration cleared after the last one */
        while (blocks_done() != 0 && !expired(deadline)) {
        }
        while (st == SD_OK && blocks_done() < count) {
            st = data_event(deadline);
            if (st != SD_OK) {
                break;
            }
            if (blocks_done() >= count) {
                SDMMC_BLOCK_CFG = 0;
            } else {
                SDMMC_WRITE_CONT = 0;
            }
        }
        sd_status_t stop = stop_transmission();
        if (st == SD_OK) {
            st = stop;
        }
    }
    sd_status_t busy = wait_not_busy(SD_BUSY_US);
    return st != SD_OK ? st : busy;
}

/* Is the card still there? CMD13 answers in every state after identification. */
static bool card_answers(void)
{
    return command(CMD_SEND_STATUS, (uint32_t)sd_card.rca << 16, RESP_R1) == SD_OK;
}

static sd_status_t transfer(bool write, uint32_t first, uint32_t count, uint32_t dma_addr, const block_sink *sink)
{
    sd_status_t st = SD_OK;
    for (unsigned attempt = 0; attempt <= SD_RETRIES; attempt++) {
        if (attempt) {
            sd_card.retries++;
        }
        st = write ? write_once(first, count, dma_addr) : read_once(first, count, dma_addr, sink);
        if (st == SD_OK) {
            return st;
        }
        data_abort();
        if (st == SD_RANGE) {
            break;
        }
    }
    if (!card_answers()) {
        sd_card.ready = false;   /* gone: the next mount (or ioctl init) starts from CMD0 */
    }
    return st;
}

/* Can the DMA use [buf, buf + len) itself? Shared SRAM (the heap is there) and 16-byte aligned. */
static bool dma_reaches(const void *buf, size_t len)
{
    uint32_t a = (uint32_t)buf;
    return a % SD_DMA_ALIGN == 0 && a >= SD_SRAM_START && a < SD_SRAM_END && len <= SD_SRAM_END - a;
}

static sd_status_t check_range(uint32_t first, uint32_t count)
{
    if (!sd_card.ready) {
        return SD_NO_CARD;
    }
    return first > sd_card.blocks || count > sd_card.blocks - first ? SD_RANGE : SD_OK;
}

static bool controller_take(void)
{
    const uint32_t mine = HSEM_RX_LOCK | ((uint32_t)CH32H417_CORE << HSEM_RX_COREID_SHIFT) | SD_HSEM_PROCESS;
    uint64_t give_up = deadline_after(SD_LOCK_US);
    for (;;) {
        HSEM_RX(SD_HSEM) = mine;
        if (HSEM_RX(SD_HSEM) == mine) {
            return true;
        }
        if (expired(give_up)) {
            return false;
        }
    }
}

static void controller_give(void)
{
    HSEM_RX(SD_HSEM) = ((uint32_t)CH32H417_CORE << HSEM_RX_COREID_SHIFT) | SD_HSEM_PROCESS;
}

static sd_status_t read_locked(uint32_t first, uint32_t count, uint8_t *buf, sd_block_fn fn, void *ctx)
{
    sd_status_t st = check_range(first, count);
    block_sink sink = {fn, ctx, 0};
    while (st == SD_OK && count) {
        bool direct = dma_reaches(buf, (size_t)count * SD_BLOCK_SIZE);
        uint32_t limit = direct ? SD_DIRECT_BLOCKS : SD_BOUNCE_BLOCKS;
        uint32_t n = count < limit ? count : limit;
        st = transfer(false, first, n, direct ? (uint32_t)buf : (uint32_t)sd_dma_buf, direct ? &sink : NULL);
        if (st == SD_OK && !direct) {
            memcpy(buf, sd_dma_buf, n * SD_BLOCK_SIZE);
            blocks_landed(&sink, 0, n, buf);
        }
        first += n;
        count -= n;
        buf += n * SD_BLOCK_SIZE;
        sink.base += n;
    }
    return st;
}

sd_status_t sd_read_stream(uint32_t first, uint32_t count, uint8_t *buf, sd_block_fn fn, void *ctx)
{
    if (!controller_take()) {
        return SD_LOCKED;
    }
    sd_status_t st = read_locked(first, count, buf, fn, ctx);
    controller_give();
    return st;
}

sd_status_t sd_read(uint32_t first, uint32_t count, uint8_t *buf)
{
    return sd_read_stream(first, count, buf, NULL, NULL);
}

static sd_status_t write_locked(uint32_t first, uint32_t count, const uint8_t *buf)
{
    sd_status_t st = check_range(first, count);
    while (st == SD_OK && count) {
        bool direct = dma_reaches(buf, (size_t)count * SD_BLOCK_SIZE);
        uint32_t limit = direct ? SD_DIRECT_BLOCKS : SD_BOUNCE_BLOCKS;
        uint32_t n = count < limit ? count : limit;
        if (!direct) {
            memcpy(sd_dma_buf, buf, n * SD_BLOCK_SIZE);
        }
        st = transfer(true, first, n, direct ? (uint32_t)buf : (uint32_t)sd_dma_buf, NULL);
        first += n;
        count -= n;
        buf += n * SD_BLOCK_SIZE;
    }
    return st;
}

sd_status_t sd_write(uint32_t first, uint32_t count, const uint8_t *buf)
{
    if (!controller_take()) {
        return SD_LOCKED;
    }
    sd_status_t st = write_locked(first, count, buf);
    controller_give();
    return st;
}

/* ---------------------------------------------------------------- initialisation */

/* The SD example's SD_GPIO_Init and Hardware(): VIO18 (the SD pins' rail) at 3.3 V first, the
 * controller's clock (and DMA1's, which the example also turns on), SWPMI OR bit 0, then
 * CK = PC12, D0..D3 = PC8..PC11 and CMD = PD2 as push-pull alternate function at very high
 * speed (no AF number: the SDMMC pins need none in the example). */
static void power_pins_and_clock(void)
{
    RCC_HB1PCENR |= RCC_HB1_PWREN;
    PWR_CTLR |= PWR_CTLR_VIO_SWCR;
    PWR_CTLR = (PWR_CTLR & ~PWR_CTLR_VSEL_VIO18) | PWR_VIO18_MODE3;

    RCC_HBPCENR |= RCC_HB_SDMMCEN | RCC_HB_DMA1EN;
    RCC_HB1PCENR |= RCC_HB1_SWPMIEN;
    SWPMI_OR |= SWPMI_OR_SD_EXAMPLE;
    RCC_HB2PCENR |= RCC_HB2_IOPCEN | RCC_HB2_IOPDEN | RCC_HB2_AFIOEN;

    uint32_t cfg = GPIO_CFGHR(GPIOC_BASE) & ~0x000FFFFFu;          /* PC8..PC12 */
    uint32_t speed = GPIO_SPEED(GPIOC_BASE) & ~(0x3FFu << 16);
    for (unsigned pin = 8; pin <= 12; pin++) {
        cfg |= GPIO_CFG_AF_PP << (4 * (pin - 8));
        speed |= GPIO_SPEED_VERY_HIGH << (2 * pin);
    }
    GPIO_SPEED(GPIOC_BASE) = speed;
    GPIO_CFGHR(GPIOC_BASE) = cfg;
    GPIO_SPEED(GPIOD_BASE) = (GPIO_SPEED(GPIOD_BASE) & ~(0x3u << 4)) | (GPIO_SPEED_VERY_HIGH << 4);
    GPIO_CFGLR(GPIOD_BASE) = (GPIO_CFGLR(GPIOD_BASE) & ~(0xFu << 8)) | (GPIO_CFG_AF_PP << 8); /* PD2 */
}

/* SDMMC_DeInit (RCC reset) and SD_PowerON's SDMMC_Init: host mode, 1-bit bus, sampling on the
 * falling edge, DMA on, the identification clock, the example's time-out count. */
static void controller_reset(void)
{
    RCC_HBRSTR |= RCC_HB_SDMMCRST;
    RCC_HBRSTR &= ~RCC_HB_SDMMCRST;
    SDMMC_CONTROL = 0;
    SDMMC_CONTROL = SDMMC_DMAEN | SDMMC_NEGSMP;
    SDMMC_CLK_DIV = 0;
    set_clock(false, SD_DIV_IDENT);
    SDMMC_TIMEOUT = SD_TIMEOUT_COUNT;
    SDMMC_INT_EN = 0;               /* polled */
    SDMMC_INT_FG = SDMMC_IF_ALL;
}

/* CMD0, CMD8, ACMD41 until ready (spec 4.2.3): whether the card is SDHC/SDXC. */
static sd_status_t identify_voltage_and_capacity(void)
{
    delay_us(1000);                 /* >= 74 clocks at 200 kHz after power-up (spec 6.4.1) */
    sd_status_t st = command(CMD_GO_IDLE, 0, RESP_NONE);
    if (st != SD_OK) {
        return st == SD_CMD_TIMEOUT ? SD_NO_CARD : st;
    }
    bool v2 = false;
    st = command(CMD_SEND_IF_COND, IF_COND_PATTERN, RESP_R1);
    if (st == SD_OK) {
        if ((response32() & 0xFFFu) != IF_COND_PATTERN) {
            return SD_UNUSABLE;     /* voltage not accepted or pattern not echoed */
        }
        v2 = true;
    } else if (st != SD_CMD_TIMEOUT) {
        return st;
    }
    sd_card.rca = 0;
    uint64_t deadline = deadline_after(SD_READY_US);
    for (bool first = true;; first = false) {
        st = app_command(ACMD_SD_SEND_OP, (v2 ? OCR_HCS : 0u) | OCR_WINDOW, RESP_R3);
        if (st != SD_OK) {
            /* no answer at all after no answer to CMD8 either: nothing in the slot (an MMC card
             * would not answer CMD55 either; it is not supported) */
            return first && !v2 && st == SD_CMD_TIMEOUT ? SD_NO_CARD : st;
        }
        uint32_t ocr = response32();
        if (ocr & OCR_BUSY) {
            sd_card.block_addressed = v2 && (ocr & OCR_CCS);
            return SD_OK;
        }
        if (expired(deadline)) {
            return SD_UNUSABLE;     /* never finished powering up */
        }
        delay_us(10000);
    }
}

/* Capacity from the CSD (spec 5.3): version 1.0 (SDSC) or 2.0 (SDHC/SDXC). */
static sd_status_t read_capacity(const uint32_t csd[4])
{
    switch (reg_bits(csd, 127, 126)) {
        case 0: {
            uint32_t c_size = reg_bits(csd, 73, 62), mult = reg_bits(csd, 49, 47), bl_len = reg_bits(csd, 83, 80);
            if (bl_len < 9 || bl_len > 11) {
                return SD_UNUSABLE;
            }
            sd_card.blocks = (c_size + 1) << (mult + 2 + bl_len - 9);
            return SD_OK;
        }
        case 1:
            sd_card.blocks = (reg_bits(csd, 69, 48) + 1) * 1024u;
            return SD_OK;
        default:
            return SD_UNUSABLE;     /* SDUC (CSD 3.0): beyond 32-bit block numbers */
    }
}

/* CMD6 mode 1, group 1 function 1 (spec 4.3.10): 64 status bytes on the data lines; byte 16's low
 * nibble is the function group 1 now selected (0xF: the switch failed). */
static bool switch_to_high_speed(void)
{
    data_setup(0u, SWITCH_STATUS_BYTES, 1, (uint32_t)sd_dma_buf);
    sd_status_t st = data_command(CMD_SWITCH_FUNC, SWITCH_HIGH_SPEED);
    if (st == SD_OK) {
        st = data_event(deadline_after(SD_DATA_US));
    }
    if (st != SD_OK) {
        data_abort();
        return false;
    }
    return (sd_dma_buf[16] & 0xFu) == 1u;
}

static sd_status_t init_locked(void)
{
    memset(&sd_card, 0, sizeof sd_card);
    power_pins_and_clock();
    controller_reset();
    sd_status_t st = identify_voltage_and_capacity();
    uint32_t reg[4] = {0};
    if (st == SD_OK) {
        st = command(CMD_ALL_SEND_CID, 0, RESP_R2);                  /* CMD2 */
    }
    for (unsigned i = 0; st == SD_OK && i < 2; i++) {                /* CMD3; RCA 0 is reserved */
        st = command(CMD_SEND_RCA, 0, RESP_R1);
        sd_card.rca = (uint16_t)(response32() >> 16);
        if (sd_card.rca) {
            break;
        }
    }
    if (st == SD_OK && !sd_card.rca) {
        st = SD_UNUSABLE;
    }
    if (st == SD_OK) {
        st = command(CMD_SEND_CSD, (uint32_t)sd_card.rca << 16, RESP_R2);   /* CMD9 */
        response128(reg);
    }
    if (st == SD_OK) {
        st = read_capacity(reg);
    }
    bool can_switch = reg_bits(reg, 84 + 10, 84 + 10);               /* CCC class 10: CMD6 */
    if (st == SD_OK) {
        st = command(CMD_SELECT_CARD, (uint32_t)sd_card.rca << 16, RESP_R1);  /* CMD7 (R1b) */
    }
    if (st == SD_OK) {
        st = wait_not_busy(SD_BUSY_US);
    }
    if (st == SD_OK && !sd_card.block_addressed) {
        st = command(CMD_SET_BLOCKLEN, SD_BLOCK_SIZE, RESP_R1);      /* SDSC: 512-byte blocks */
    }
    if (st == SD_OK) {
        st = app_command(ACMD_SET_BUS_WIDTH, 2, RESP_R1);            /* ACMD6: 4 bits */
    }
    if (st != SD_OK) {
        return st;
    }
    SDMMC_CONTROL = (uint16_t)((SDMMC_CONTROL & ~SDMMC_LW_MASK) | SDMMC_LW_4BIT);
    set_clock(true, SD_DIV_DEFAULT);
    if (can_switch && switch_to_high_speed()) {
        delay_us(10);               /* >= 8 clocks before the new timing (spec 4.3.10.4) */
        set_clock(true, SD_DIV_HIGH_SPEED);
        sd_card.high_speed = true;
    }
    sd_card.ready = true;
    return SD_OK;
}

sd_status_t sd_init(void)
{
    if (!controller_take()) {
        return SD_LOCKED;
    }
    sd_status_t st = init_locked();
    controller_give();
    return st;
}

const char *sd_status_text(sd_status_t status)
{
    switch (status) {
        case SD_OK: return "ok";
        case SD_NO_CARD: return "no card (no answer to CMD0/CMD8/ACMD41)";
        case SD_UNUSABLE: return "card not usable (voltage, pattern or never ready)";
        case SD_CMD_TIMEOUT: return "command time-out";
        case SD_CMD_CRC: return "response CRC or status error";
        case SD_DATA_TIMEOUT: return "data time-out";
        case SD_DATA_CRC: return "data CRC error";
        case SD_BUSY_TIMEOUT: return "card busy too long";
        case SD_RANGE: return "blocks outside the card";
        case SD_LOCKED: return "the other core holds the SD controller";
    }
    return "?";
}
