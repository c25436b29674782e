/* SD card test for the CH32H417 emulator's SDMMC + card models (included by prog.c with TEST_SD,
   run on the V5F).  Written from the vendor's register facts (openwch/ch32h417 EVT V1.3:
   ch32h417.h SDMMC_TypeDef and SDMMC_* bits, ch32h417_sdmmc.c, SDMMC_SD sdmmc_sd.c) and the SD
   Physical Layer Simplified Specification's initialisation order: CMD0, CMD8, ACMD41 + HCS, CMD2,
   CMD3, CMD9, CMD7, ACMD6 (4 bits), CMD6 (high speed), then SDCK 50 MHz; then a CMD18 read of
   SD_COUNT blocks from SD_BLOCK into shared SRAM by DMA, printed as a CRC-32.
   Output: "sd init ok\n", then "read ok XXXXXXXX\n" or "sd err WHAT FLAGS\n"; a data error is retried
   twice ("retry FLAGS\n").
   Build switches (wrong drivers): SD_NO_CLOCK (RCC HBPCENR bit 10 never set), SD_READ_BEFORE_INIT
   (CMD17 straight after power-up), SD_DMA_DTCM (buffer in DTCM), SD_DMA_UNALIGNED (buffer + 4),
   SD_NO_HCS (ACMD41 without HCS), SD_SKIP_ACMD6 (controller at 4 bits, card left at 1).
   SD_WRITE: write one block (CMD24) of a pattern to SD_WBLOCK before the read. */

#define SDMMC_ARG     REG(0x40024000)
#define SDMMC_CMD     REG(0x40024004)
#define SDMMC_RESP0   REG(0x40024008)
#define SDMMC_RESP3   REG(0x40024014)
#define SDMMC_CONTROL REG(0x40024018)
#define SDMMC_TIMEOUT REG(0x4002401C)
#define SDMMC_STATUS  REG(0x40024020)
#define SDMMC_INT_FG  REG(0x40024024)
#define SDMMC_DMA1    REG(0x4002402C)
#define SDMMC_BLKCFG  REG(0x40024030)
#define SDMMC_TRAN    REG(0x40024034)
#define SDMMC_CLKDIV  REG(0x40024038)

#define R_NONE 0x000u
#define R_136  0x100u
#define R_48   0x200u
#define R_48B  0x300u
#define F_CMD_ERR (0x1u | 0x2u | 0x4u)   /* RE_TMOUT, RECRC_WR, REIDX_ER */
#define F_CMDDONE 0x8u
#define F_DATA_END (0x10u | 0x20u | 0x40u | 0x100u)  /* DATTMO, TRANERR, TRANDONE, FIFO_OV */

#ifndef SD_BLOCK
#define SD_BLOCK 8u
#endif
#ifndef SD_COUNT
#define SD_COUNT 4u
#endif
#ifndef SD_WBLOCK
#define SD_WBLOCK 3u
#endif

__attribute__((aligned(16))) static uint8_t sd_buf[512 * SD_COUNT + 16];
__attribute__((aligned(16))) static uint8_t sd_status_buf[64];

static uint32_t crc32(const uint8_t *p, uint32_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static uint32_t wait_flags(uint32_t mask, uint32_t us)
{
    uint32_t t0 = clock_us(), f;
    while (!((f = SDMMC_INT_FG) & mask) && clock_us() - t0 < us) { }
    SDMMC_INT_FG = f & mask;                       /* write 1 to clear (SDMMC_ClearFlags) */
    return f & mask;
}

static void sd_fail(const char *what, uint32_t flags)
{
    puts_("sd err ");
    puts_(what);
    put(' ');
    puthex(flags);
    put('\n');
    for (;;) { }
}

static uint32_t cmd(uint32_t idx, uint32_t arg, uint32_t rtype)
{
    SDMMC_ARG = arg;
    SDMMC_CMD = rtype | idx;
    uint32_t f = wait_flags(F_CMDDONE | F_CMD_ERR, 20000u);
    return f ? f : 0x80000000u;                    /* no flag at all: our own time-out */
}

static void must(const char *what, uint32_t idx, uint32_t arg, uint32_t rtype)
{
    uint32_t f = cmd(idx, arg, rtype);
    if (f != F_CMDDONE) sd_fail(what, f);
}

static void wait_dat0(void)
{
    uint32_t t0 = clock_us();
    while (!(SDMMC_STATUS & (1u << 17)) && clock_us() - t0 < 20000u) { }
}

/* One DMA read of n blocks (or one 64-byte status block for CMD6) into buf. */
static uint32_t read_data(uint32_t idx, uint32_t arg, uint8_t *buf, uint32_t size, uint32_t n)
{
    SDMMC_BLKCFG = 0;                              /* "MUST Config to 0 first" (sdmmc_sd.c) */
    SDMMC_TRAN = 0;                                /* receive */
    SDMMC_BLKCFG = (size << 16) | n;
    SDMMC_DMA1 = (uint32_t)buf;
    uint32_t f = cmd(idx, arg, R_48);
    if (f != F_CMDDONE) return f;
    return wait_flags(F_DATA_END, 100000u);
}

static uint32_t rca;

static void sd_init(void)
{
#ifndef SD_NO_CLOCK
    RCC_HBPCENR |= 1u << 10;                       /* RCC_SDMMCEN */
#endif
    SDMMC_CONTROL = 0x08u | 0x20u;                 /* DMAEN, sample on the falling edge, 1 bit */
    SDMMC_TIMEOUT = 8u;
    SDMMC_CLKDIV = 0x100u | 0x1Fu;                 /* CLKOE, low speed, DIV 31: ~200 kHz */
    uint32_t f = cmd(0, 0, R_NONE);
    if (f != F_CMDDONE) sd_fail("cmd0", f);
#ifdef SD_READ_BEFORE_INIT
    f = read_data(17, 0, sd_buf, 512, 1);
    sd_fail("cmd17", f);
#endif
    must("cmd8", 8, 0x1AAu, R_48);
    if ((SDMMC_RESP3 & 0xFFFu) != 0x1AAu) sd_fail("cmd8 echo", SDMMC_RESP3);
    uint32_t ocr = 0;
    for (int i = 0; i < 50 && !(ocr >> 31); i++) {
        must("cmd55", 55, 0, R_48);
#ifdef SD_NO_HCS
        must("acmd41", 41, 0x00100000u, R_48);
#else
        must("acmd41", 41, 0x40100000u, R_48);     /* HCS + 3.2-3.3 V */
#endif
        ocr = SDMMC_RESP3;
    }
    if (!(ocr >> 31)) sd_fail("acmd41 busy", ocr);
    if (!(ocr & 0x40000000u)) sd_fail("not sdhc", ocr);
    must("cmd2", 2, 0, R_136);
    must("cmd3", 3, 0, R_48);
    rca = SDMMC_RESP3 >> 16;
    must("cmd9", 9, rca << 16, R_136);
    if ((SDMMC_RESP0 & 1u) != 1u) sd_fail("csd end bit", SDMMC_RESP0);
    must("cmd7", 7, rca << 16, R_48B);
    wait_dat0();
    must("cmd55", 55, rca << 16, R_48);
    must("acmd6", 6, 2, R_48);                     /* 4-bit bus */
#ifndef SD_SKIP_ACMD6
    SDMMC_CONTROL = (SDMMC_CONTROL & ~3u) | 1u;
#else
    SDMMC_CONTROL = (SDMMC_CONTROL & ~3u) | 1u;
    must("cmd55", 55, rca << 16, R_48);
    must("acmd6", 6, 0, R_48);                     /* ... and the card back to 1 bit: mismatch */
#endif
    f = read_data(6, 0x80FFFFF1u, sd_status_buf, 64, 1);   /* switch group 1 to high speed */
#ifndef SD_SKIP_ACMD6
    if (f != 0x40u) sd_fail("cmd6 data", f);
    if ((sd_status_buf[16] & 0xFu) != 1u) sd_fail("cmd6 hs", sd_status_buf[16]);
#else
    if (f != 0x40u) sd_fail("cmd6 data", f);
#endif
    SDMMC_CLKDIV = 0x100u | 0x200u | 8u;           /* CLKOE, high speed, SYSCLK / 8 = 50 MHz */
    puts_("sd init ok\n");
}

static void sd_test(void)
{
    clock_start();
    sd_init();
    uint8_t *buf = sd_buf;
#ifdef SD_DMA_DTCM
    buf = (uint8_t *)0x200C1000u;
#endif
#ifdef SD_DMA_UNALIGNED
    buf = sd_buf + 4;
#endif
#ifdef SD_WRITE
    for (uint32_t i = 0; i < 512; i++) sd_buf[i] = (uint8_t)(i * 7u + 1u);
    wait_dat0();
    must("cmd24", 24, SD_WBLOCK, R_48);
    SDMMC_BLKCFG = 0;
    SDMMC_TRAN = 1u;                               /* send */
    SDMMC_DMA1 = (uint32_t)sd_buf;
    SDMMC_BLKCFG = (512u << 16) | 1u;
    uint32_t wf = wait_flags(F_DATA_END, 100000u);
    if (wf != 0x40u) sd_fail("write", wf);
    wait_dat0();
    puts_("write ok\n");
#endif
    for (int attempt = 0; attempt < 3; attempt++) {
        uint32_t f = read_data(18, SD_BLOCK, buf, 512, SD_COUNT);
        uint32_t s = cmd(12, 0, R_48B);            /* stop the card's stream in every case */
        wait_dat0();
        if (f == 0x40u && s == F_CMDDONE) {
            puts_("read ok ");
            puthex(crc32(buf, 512u * SD_COUNT));
            put('\n');
            return;
        }
        puts_("retry ");
        puthex(f);
        put(' ');
        puthex(s);
        put('\n');
    }
    sd_fail("read", 0);
}
