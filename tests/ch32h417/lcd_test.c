/* LCD and button tests for the CH32H417 emulator's SPI2/DMA1/ST7796S and GPIO/EXTI models (included
   by prog.c with TEST_LCD or TEST_BUTTON, run on the V5F).  Unlike sd_test.c this is not a driver of
   its own: it calls the board's drivers (boards/CH32H417/ch32h417_lcd.c, ch32h417_button.c, linked
   in by the test), whose build switches are the wrong drivers.
   TEST_LCD:    fill, a 64x64 test image scaled x4 at (LCD_IMG_X, LCD_IMG_Y), a text line, a progress
                bar; prints "lcd ok\n" or "lcd err STEP STATUS\n".
   TEST_BUTTON: "button ready\n", then counts button_pressed() for BUTTON_WINDOW_MS and prints
                "presses N\n". */
#include "../../boards/CH32H417/ch32h417_lcd.h"
#include "../../boards/CH32H417/ch32h417_button.h"

#define LCD_IMG_X 16u
#define LCD_IMG_Y 24u
#define LCD_TEXT_X 288u
#define LCD_TEXT_Y 40u
#ifndef BUTTON_WINDOW_MS
#define BUTTON_WINDOW_MS 300u
#endif

uint64_t board_ticks_us(void)
{
    return clock_us();
}

#ifdef TEST_LCD
static uint8_t test_image[64 * 64 * 3];

static void lcd_check(const char *step, lcd_status_t st)
{
    if (st == LCD_OK) return;
    puts_("lcd err ");
    puts_(step);
    put(' ');
    put((char)('0' + st));
    put('\n');
    for (;;) { }
}

static void lcd_test(void)
{
    clock_start();
    for (uint32_t r = 0; r < 64; r++) {          /* the same formula as tests/test_ch32h417_lcd.py */
        for (uint32_t c = 0; c < 64; c++) {
            uint8_t *p = test_image + 3u * (r * 64u + c);
            p[0] = (uint8_t)(c * 4u + r);
            p[1] = (uint8_t)((r * 4u) ^ (c * 3u));
            p[2] = (uint8_t)(r * c + 17u);
        }
    }
    lcd_check("init", lcd_init());
    lcd_check("fill", lcd_fill(LCD_RGB565(0, 0, 96)));
    lcd_check("blit", lcd_blit_rgb888_scaled(LCD_IMG_X, LCD_IMG_Y, test_image, 64, 64, 4));
    lcd_check("text", lcd_text(LCD_TEXT_X, LCD_TEXT_Y, "Hello, cat! 42", LCD_RGB565(255, 255, 0), 0));
    lcd_check("progress", lcd_progress(3, 4));
    puts_("lcd ok\n");
}
#endif

#ifdef TEST_BUTTON
static void button_test(void)
{
    clock_start();
    button_init();
    puts_("button ready\n");
    uint32_t presses = 0, t0 = clock_us() / 1000u;
    for (uint32_t now = t0; now - t0 < BUTTON_WINDOW_MS; now = clock_us() / 1000u) {
        if (button_pressed(now)) presses++;
    }
    puts_("presses ");
    put((char)('0' + (presses > 9 ? 9 : presses)));
    put('\n');
}
#endif
