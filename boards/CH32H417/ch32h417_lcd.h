/* ST7796S 480x320 TFT (landscape) on the CH32H417's SPI2, pixel data by DMA1 channel 3.
 * Plain C99 (no MicroPython headers): the firmware's binding and the bare-metal test both call it.
 * Wiring, RAM and timing: LCD.md beside this file (none of it tried on silicon).
 *
 * Every call is blocking; a call returns LCD_OK or the step that timed out. Colours are RGB565.
 * The board provides board_ticks_us() (ch32h417_hal.c; the bare-metal test its own). */
#ifndef CH32H417_LCD_H
#define CH32H417_LCD_H

#include <stdint.h>

#define LCD_WIDTH  480u
#define LCD_HEIGHT 320u
/* One line of pixels (RGB565, the panel's byte order), two of them so one converts while the
 * DMA sends the other: 2 x 480 x 2 = 1920 bytes of the .dma region (shared SRAM). */
#define LCD_LINE_PIXELS LCD_WIDTH
#define LCD_TEXT_SCALE 2u                 /* the 5x7 font drawn at 2x: a 12 x 16 pixel cell */
#define LCD_CHAR_W (6u * LCD_TEXT_SCALE)  /* 5 columns + 1 of spacing */
#define LCD_CHAR_H (8u * LCD_TEXT_SCALE)  /* 7 rows + 1 of spacing */

#define LCD_RGB565(r, g, b) ((uint16_t)((((r) >> 3) << 11) | (((g) >> 2) << 5) | ((b) >> 3)))

typedef enum {
    LCD_OK = 0,
    LCD_SPI_TIMEOUT,    /* the SPI never became free (no clock, no SCK) */
    LCD_DMA_TIMEOUT,    /* a DMA transfer did not complete */
    LCD_RANGE,          /* a rectangle not inside the panel, a zero size or scale */
} lcd_status_t;

uint64_t board_ticks_us(void);

/* Clocks, pins, SPI2 (master, 8 bit, mode 0, HCLK/8 = 12.5 MHz), then the panel: reset pulse,
 * SWRESET, SLPOUT + 120 ms, COLMOD 16 bit, MADCTL landscape, DISPON, backlight on. */
lcd_status_t lcd_init(void);
/* The whole panel in one colour. */
lcd_status_t lcd_fill(uint16_t color);
lcd_status_t lcd_fill_rect(uint16_t x, uint16_t y, uint16_t w, uint16_t h, uint16_t color);
/* A w x h RGB888 image (row-major, 3 bytes per pixel, HWC) drawn at (x, y), each pixel as a
 * scale x scale block (nearest), converted to RGB565 by dropping low bits. w * scale <= 480. */
lcd_status_t lcd_blit_rgb888_scaled(uint16_t x, uint16_t y, const uint8_t *rgb, uint16_t w, uint16_t h,
                                    uint16_t scale);
/* Printable ASCII at (x, y) in the 5x7 font at LCD_TEXT_SCALE, fg on bg; other characters draw
 * as '?'; the text is cut at the panel's right edge. */
lcd_status_t lcd_text(uint16_t x, uint16_t y, const char *str, uint16_t fg, uint16_t bg);
/* A progress bar across the bottom of the panel, filled to done/total (clamped). */
/* (done, total) rather than a float fraction: the plain-C API stays free of floating point (the
 * rv32imac builds have no FPU); a binding passes e.g. (step, steps) or (permille, 1000). */
lcd_status_t lcd_progress(uint32_t done, uint32_t total);
/* One command with its parameters (for commands this driver has no call for). */
lcd_status_t lcd_command(uint8_t cmd, const uint8_t *params, uint32_t n);

#define LCD_PROGRESS_X 20u
#define LCD_PROGRESS_Y 296u
#define LCD_PROGRESS_W 440u
#define LCD_PROGRESS_H 16u

#endif
