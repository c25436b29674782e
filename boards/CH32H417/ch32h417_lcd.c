/* ST7796S TFT on SPI2 + DMA1 channel 3 (ch32h417_lcd.h; wiring and sources in LCD.md).
 *
 * Facts used (register bits: ch32h417_regs.h, issue-13 section, each group citing its vendor file):
 * - SPI2 master with software NSS, 1-line transmit (SPI_Direction_1Line_Tx, so no receive flags to
 *   service), 8-bit frames, MSB first, mode 0; SCK = HCLK / 8 = 12.5 MHz (BR = 2), under the
 *   ST7796S's 66 ns serial write cycle (about 15 MHz: the figure usually quoted from the
 *   datasheet V1.0 timing table).
 * - Pixel data: DMA1 channel 3, memory -> SPI2 DATAR, bytes, fed by request 65 (SPI2 TX) through
 *   DMAMUX channel 3, as the SDK's SPI/SPI_DMA example pairs them.  The DMA reads shared SRAM: the
 *   line buffers live in the .dma region (v5f.ld).
 * - D/CX is sampled with a byte's last bit, so DC changes only once the SPI is idle (BSY clear).
 * - ST7796S sequence (datasheet V1.0): RESX low >= 10 us; 120 ms after RESX (5 ms from Sleep In);
 *   SWRESET, 5 ms; SLPOUT, 120 ms; COLMOD 55h (16 bits per pixel); MADCTL MV (landscape 480 x 320);
 *   DISPON.
 *
 * Build switches that make this a wrong driver, for tests/test_ch32h417_lcd.py only (the firmware
 * never defines them): LCD_SKIP_SPI_CLOCK, LCD_SKIP_SLPOUT, LCD_SKIP_COLMOD, LCD_DC_NO_BSY_WAIT. */
#include "ch32h417_lcd.h"

#include <stddef.h>

#include "ch32h417_font5x7.h"
#include "ch32h417_regs.h"

#define LCD_SPI          SPI2_BASE
#define LCD_DMA_CH       3u
#define LCD_DMA          DMA1_CH_BASE(LCD_DMA_CH)
#define LCD_SPI_BR       2u                    /* HCLK / 2^(BR+1) = 12.5 MHz */
#define PIN_BL           1u                    /* PB1  backlight */
#define PIN_RST          10u                   /* PB10 RESX */
#define PIN_DC           11u                   /* PB11 D/CX */
#define PIN_CS           12u                   /* PB12 CSX */
#define PIN_SCK          13u                   /* PB13 SPI2 SCK, AF5 */
#define PIN_MOSI         1u                    /* PC1  SPI2 MOSI, AF5 */
#define SPI_IDLE_TIMEOUT_US 1000u

#define ST_SWRESET 0x01u
#define ST_SLPOUT  0x11u
#define ST_DISPON  0x29u
#define ST_CASET   0x2Au
#define ST_RASET   0x2Bu
#define ST_RAMWR   0x2Cu
#define ST_MADCTL  0x36u
#define ST_COLMOD  0x3Au
#define ST_MADCTL_MV 0x20u
#define ST_COLMOD_16BIT 0x55u

static uint8_t lcd_line[2][LCD_LINE_PIXELS * 2u] __attribute__((section(".dma.lcd"), aligned(4)));
static int dma_in_flight;
static uint64_t dma_deadline_us;

/* -- pins and time ------------------------------------------------------------------------------ */
static void pin_b(uint32_t pin, int high)
{
    GPIO_BSHR(GPIOB_BASE) = high ? (1u << pin) : (1u << (pin + 16u));
}

static void delay_us(uint32_t us)
{
    uint64_t end = board_ticks_us() + us;
    while (board_ticks_us() < end) { }
}

static void set_nibble(volatile uint32_t *reg, uint32_t pin, uint32_t value)
{
    uint32_t shift = 4u * (pin & 7u);
    *reg = (*reg & ~(0xFu << shift)) | (value << shift);
}

/* -- SPI --------------------------------------------------------------------------------------- */
static lcd_status_t spi_wait(uint16_t mask, uint16_t want)
{
    uint64_t give_up = board_ticks_us() + SPI_IDLE_TIMEOUT_US;
    while ((SPI_STATR(LCD_SPI) & mask) != want) {
        if (board_ticks_us() > give_up) return LCD_SPI_TIMEOUT;
    }
    return LCD_OK;
}

static lcd_status_t spi_idle(void)
{
    return spi_wait(SPI_STATR_TXE | SPI_STATR_BSY, SPI_STATR_TXE);
}

static lcd_status_t spi_byte(uint8_t b)
{
    lcd_status_t st = spi_wait(SPI_STATR_TXE, SPI_STATR_TXE);
    if (st == LCD_OK) SPI_DATAR(LCD_SPI) = b;
    return st;
}

/* The command byte with DC low; returns with DC high and CS still low (parameters or pixels next). */
static lcd_status_t begin_command(uint8_t cmd)
{
    lcd_status_t st = spi_idle();
    if (st != LCD_OK) return st;
    pin_b(PIN_CS, 0);
    pin_b(PIN_DC, 0);
    st = spi_byte(cmd);
#ifndef LCD_DC_NO_BSY_WAIT
    if (st == LCD_OK) st = spi_idle();         /* the command byte's D/CX is sampled low first */
#endif
    pin_b(PIN_DC, 1);
    return st;
}

static lcd_status_t end_command(void)
{
    lcd_status_t st = spi_idle();
    pin_b(PIN_CS, 1);
    return st;
}

lcd_status_t lcd_command(uint8_t cmd, const uint8_t *params, uint32_t n)
{
    lcd_status_t st = begin_command(cmd);
    for (uint32_t i = 0; i < n && st == LCD_OK; i++) st = spi_byte(params[i]);
    lcd_status_t end = end_command();
    return st != LCD_OK ? st : end;
}

/* -- DMA --------------------------------------------------------------------------------------- */
static lcd_status_t dma_wait(void)
{
    if (!dma_in_flight) return LCD_OK;
    lcd_status_t st = LCD_OK;
    while (!(DMA1_INTFR & DMA_TCIF(LCD_DMA_CH))) {
        if (board_ticks_us() > dma_deadline_us) {
            st = LCD_DMA_TIMEOUT;
            break;
        }
    }
    DMA_CFGR(LCD_DMA) = 0;
    DMA1_INTFCR = DMA_GIF(LCD_DMA_CH);
    dma_in_flight = 0;
    return st;
}

static void dma_start(const uint8_t *buf, uint32_t n)
{
    DMA_CFGR(LCD_DMA) = 0;
    DMA1_INTFCR = DMA_GIF(LCD_DMA_CH);
    DMA_CNTR(LCD_DMA) = n;
    DMA_PADDR(LCD_DMA) = (uint32_t)&SPI_DATAR(LCD_SPI);
    DMA_MADDR(LCD_DMA) = (uint32_t)buf;
    /* a byte every 0.64 us at 12.5 MHz: 1 us a byte plus a margin before giving up */
    dma_deadline_us = board_ticks_us() + n + 2000u;
    dma_in_flight = 1;
    DMA_CFGR(LCD_DMA) = DMA_CFGR_DIR_READ_MEM | DMA_CFGR_MINC | DMA_CFGR_PL_VERY_HIGH | DMA_CFGR_EN;
}

/* Lines of `bytes` each, made by make_line into one line buffer while the DMA sends the other;
 * every line is sent `repeat` times. */
typedef void (*make_line_fn)(const void *ctx, uint32_t line, uint8_t *buf);

static lcd_status_t stream(const void *ctx, make_line_fn make_line, uint32_t lines, uint32_t repeat, uint32_t bytes)
{
    make_line(ctx, 0, lcd_line[0]);
    for (uint32_t l = 0; l < lines; l++) {
        for (uint32_t r = 0; r < repeat; r++) {
            lcd_status_t st = dma_wait();
            if (st != LCD_OK) return st;
            dma_start(lcd_line[l & 1u], bytes);
            if (r == 0 && l + 1u < lines) make_line(ctx, l + 1u, lcd_line[(l + 1u) & 1u]);
        }
    }
    return dma_wait();
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);                  /* RGB565, first byte first (COLMOD 55h) */
    p[1] = (uint8_t)v;
}

/* Window (x, y, w, h), then RAMWR; the caller streams the pixels and ends the command. */
static lcd_status_t window(uint16_t x, uint16_t y, uint16_t w, uint16_t h)
{
    if (!w || !h || (uint32_t)x + w > LCD_WIDTH || (uint32_t)y + h > LCD_HEIGHT) return LCD_RANGE;
    uint16_t x1 = (uint16_t)(x + w - 1u), y1 = (uint16_t)(y + h - 1u);
    const uint8_t cols[4] = {(uint8_t)(x >> 8), (uint8_t)x, (uint8_t)(x1 >> 8), (uint8_t)x1};
    const uint8_t rows[4] = {(uint8_t)(y >> 8), (uint8_t)y, (uint8_t)(y1 >> 8), (uint8_t)y1};
    lcd_status_t st = lcd_command(ST_CASET, cols, 4);
    if (st == LCD_OK) st = lcd_command(ST_RASET, rows, 4);
    if (st == LCD_OK) st = begin_command(ST_RAMWR);
    return st;
}

static lcd_status_t draw(uint16_t x, uint16_t y, uint16_t w, uint16_t h, const void *ctx, make_line_fn make_line,
                         uint32_t lines, uint32_t repeat)
{
    lcd_status_t st = window(x, y, w, h);
    if (st == LCD_RANGE) return st;
    if (st == LCD_OK) st = stream(ctx, make_line, lines, repeat, 2u * w);
    lcd_status_t end = end_command();
    return st != LCD_OK ? st : end;
}

/* -- init ------------------------------------------------------------------------------------- */
static void pins_init(void)
{
    RCC_HB2PCENR |= RCC_HB2_AFIOEN | RCC_HB2_IOPBEN | RCC_HB2_IOPCEN;
    pin_b(PIN_CS, 1);
    pin_b(PIN_DC, 1);
    pin_b(PIN_RST, 1);
    pin_b(PIN_BL, 0);
    set_nibble(&GPIO_CFGHR(GPIOB_BASE), PIN_CS, GPIO_CFG_OUT_PP);
    set_nibble(&GPIO_CFGHR(GPIOB_BASE), PIN_DC, GPIO_CFG_OUT_PP);
    set_nibble(&GPIO_CFGHR(GPIOB_BASE), PIN_RST, GPIO_CFG_OUT_PP);
    set_nibble(&GPIO_CFGLR(GPIOB_BASE), PIN_BL, GPIO_CFG_OUT_PP);
    set_nibble(&AFIO_GPIO_AFHR(GPIO_PORT_B), PIN_SCK, GPIO_AF5);
    set_nibble(&AFIO_GPIO_AFLR(2u), PIN_MOSI, GPIO_AF5);            /* port C */
    GPIO_SPEED(GPIOB_BASE) |= GPIO_SPEED_VERY_HIGH << (2u * PIN_SCK);
    GPIO_SPEED(GPIOC_BASE) |= GPIO_SPEED_VERY_HIGH << (2u * PIN_MOSI);
    set_nibble(&GPIO_CFGHR(GPIOB_BASE), PIN_SCK, GPIO_CFG_AF_PP);
    set_nibble(&GPIO_CFGLR(GPIOC_BASE), PIN_MOSI, GPIO_CFG_AF_PP);
}

static void spi_dma_init(void)
{
#ifndef LCD_SKIP_SPI_CLOCK
    RCC_HB1PCENR |= RCC_HB1_SPI2EN;
#endif
    RCC_HBPCENR |= RCC_HB_DMA1EN;
    uint16_t ctlr1 = SPI_CTLR1_BIDIMODE | SPI_CTLR1_BIDIOE | SPI_CTLR1_SSM | SPI_CTLR1_SSI | SPI_CTLR1_MSTR
                     | (uint16_t)(LCD_SPI_BR << SPI_CTLR1_BR_SHIFT);
    SPI_CTLR1(LCD_SPI) = ctlr1;
    SPI_CTLR2(LCD_SPI) = SPI_CTLR2_TXDMAEN;
    SPI_CTLR1(LCD_SPI) = ctlr1 | SPI_CTLR1_SPE;
    /* DMAMUX channel 3 (index 2) holds request - 1 (DMA_MuxChannelConfig) */
    const uint32_t shift = DMAMUX_SHIFT(DMAMUX_CH_DMA1_CH3);
    DMAMUX_CFGR(DMAMUX_CH_DMA1_CH3) = (DMAMUX_CFGR(DMAMUX_CH_DMA1_CH3) & ~(DMAMUX_MASK << shift))
                                      | ((DMA_REQ_SPI2_TX - 1u) << shift);
    DMA_CFGR(LCD_DMA) = 0;
    dma_in_flight = 0;
}

lcd_status_t lcd_init(void)
{
    pins_init();
    spi_dma_init();
    pin_b(PIN_RST, 0);
    delay_us(20);                              /* RESX low >= 10 us */
    pin_b(PIN_RST, 1);
    delay_us(120000);                          /* 120 ms: enough even if the panel was awake */
    lcd_status_t st = lcd_command(ST_SWRESET, NULL, 0);
    delay_us(5000);                            /* from Sleep In (just reset): 5 ms */
#ifndef LCD_SKIP_SLPOUT
    if (st == LCD_OK) st = lcd_command(ST_SLPOUT, NULL, 0);
    delay_us(120000);
#endif
    const uint8_t colmod = ST_COLMOD_16BIT, madctl = ST_MADCTL_MV;
#ifndef LCD_SKIP_COLMOD
    if (st == LCD_OK) st = lcd_command(ST_COLMOD, &colmod, 1);
#else
    (void)colmod;
#endif
    if (st == LCD_OK) st = lcd_command(ST_MADCTL, &madctl, 1);
    if (st == LCD_OK) st = lcd_command(ST_DISPON, NULL, 0);
    pin_b(PIN_BL, 1);
    return st;
}

/* -- drawing ------------------------------------------------------------------------------------ */
static void solid_line(const void *ctx, uint32_t line, uint8_t *buf)
{
    (void)line;
    const uint16_t *color = ctx;
    for (uint32_t i = 0; i < LCD_LINE_PIXELS; i++) put16(buf + 2u * i, *color);
}

lcd_status_t lcd_fill_rect(uint16_t x, uint16_t y, uint16_t w, uint16_t h, uint16_t color)
{
    return draw(x, y, w, h, &color, solid_line, 1, h);
}

lcd_status_t lcd_fill(uint16_t color)
{
    return lcd_fill_rect(0, 0, LCD_WIDTH, LCD_HEIGHT, color);
}

typedef struct {
    const uint8_t *rgb;
    uint16_t w, scale;
} blit_t;

static void blit_line(const void *ctx, uint32_t line, uint8_t *buf)
{
    const blit_t *b = ctx;
    const uint8_t *px = b->rgb + (uint32_t)line * b->w * 3u;
    for (uint32_t c = 0; c < b->w; c++, px += 3) {
        uint16_t v = LCD_RGB565(px[0], px[1], px[2]);
        for (uint32_t s = 0; s < b->scale; s++, buf += 2) put16(buf, v);
    }
}

lcd_status_t lcd_blit_rgb888_scaled(uint16_t x, uint16_t y, const uint8_t *rgb, uint16_t w, uint16_t h,
                                    uint16_t scale)
{
    if (!scale || (uint32_t)w * scale > LCD_LINE_PIXELS || (uint32_t)h * scale > LCD_HEIGHT) return LCD_RANGE;
    const blit_t b = {rgb, w, scale};
    return draw(x, y, (uint16_t)(w * scale), (uint16_t)(h * scale), &b, blit_line, h, scale);
}

typedef struct {
    const char *str;
    uint32_t n;
    uint16_t fg, bg;
} text_t;

static void text_line(const void *ctx, uint32_t line, uint8_t *buf)
{
    const text_t *t = ctx;
    uint32_t row = line / LCD_TEXT_SCALE;      /* glyph row; row 7 is the spacing under it */
    for (uint32_t i = 0; i < t->n; i++) {
        uint8_t ch = (uint8_t)t->str[i];
        if (ch < LCD_FONT_FIRST || ch > LCD_FONT_LAST) ch = '?';
        uint8_t bits = row < LCD_FONT_ROWS ? lcd_font5x7[ch - LCD_FONT_FIRST][row] : 0u;
        for (uint32_t col = 0; col < LCD_CHAR_W / LCD_TEXT_SCALE; col++) {
            int on = col < LCD_FONT_COLS && (bits & (0x10u >> col));
            for (uint32_t s = 0; s < LCD_TEXT_SCALE; s++, buf += 2) put16(buf, on ? t->fg : t->bg);
        }
    }
}

lcd_status_t lcd_text(uint16_t x, uint16_t y, const char *str, uint16_t fg, uint16_t bg)
{
    if (x >= LCD_WIDTH) return LCD_RANGE;
    uint32_t n = 0, room = (LCD_WIDTH - x) / LCD_CHAR_W;
    while (str[n] && n < room) n++;
    if (!n) return LCD_OK;
    const text_t t = {str, n, fg, bg};
    return draw(x, y, (uint16_t)(n * LCD_CHAR_W), LCD_CHAR_H, &t, text_line, LCD_CHAR_H, 1);
}

lcd_status_t lcd_progress(uint32_t done, uint32_t total)
{
    const uint16_t frame = LCD_RGB565(255, 255, 255), bar = LCD_RGB565(0, 200, 80), rest = LCD_RGB565(40, 40, 40);
    const uint16_t x = LCD_PROGRESS_X, y = LCD_PROGRESS_Y, w = LCD_PROGRESS_W, h = LCD_PROGRESS_H;
    uint32_t inner = w - 2u;
    while (total > 0xFFFFu) {                  /* keep inner * done in 32 bits */
        total >>= 1;
        done >>= 1;
    }
    uint32_t filled = total ? (done >= total ? inner : inner * done / total) : 0u;
    lcd_status_t st = lcd_fill_rect(x, y, w, 1, frame);
    if (st == LCD_OK) st = lcd_fill_rect(x, (uint16_t)(y + h - 1u), w, 1, frame);
    if (st == LCD_OK) st = lcd_fill_rect(x, (uint16_t)(y + 1u), 1, (uint16_t)(h - 2u), frame);
    if (st == LCD_OK) st = lcd_fill_rect((uint16_t)(x + w - 1u), (uint16_t)(y + 1u), 1, (uint16_t)(h - 2u), frame);
    if (st == LCD_OK && filled)
        st = lcd_fill_rect((uint16_t)(x + 1u), (uint16_t)(y + 1u), (uint16_t)filled, (uint16_t)(h - 2u), bar);
    if (st == LCD_OK && filled < inner)
        st = lcd_fill_rect((uint16_t)(x + 1u + filled), (uint16_t)(y + 1u), (uint16_t)(inner - filled),
                           (uint16_t)(h - 2u), rest);
    return st;
}
