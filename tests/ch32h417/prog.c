/* Test program for the CH32H417 emulator, written from the vendor SDK's register facts
   (openwch/ch32h417 EVT V1.3: ch32h417.h, core_riscv.h, system_ch32h417.c, debug.c).
   The V3F sets the SDK's default clock preset (HSE 25 MHz x16 = 400 MHz, V5F /1, V3F = HCLK /4),
   then wakes the V5F; the V5F sets up USART1 (PA9 TX / PA10 RX, AF7) and prints.
   Build switches make the wrong drivers the emulator must refuse:
     NO_WAKE            the V3F never wakes the V5F
     SKIP_USART_CLOCK   the V5F never enables USART1's RCC clock
     SKIP_PIN_AF        PA9 is left a plain input (not routed to USART1)
     NO_UE              the USART is configured but never enabled (UE)
     NO_HSE             the V3F starts the PLL from HSE without turning HSE on
     TEST_RNG           print 4 RNG words (RNG_NO_CLOCK / RNG_NO_EN: skip the clock / RNGEN)
     TEST_SYSTICK       wait 1000 us on SysTick1 at HCLK, then print (SYSTICK_NO_EN: never start it)
     TEST_ECHO          echo received bytes back (RX path)
     TEST_RESET         print, then reset the chip through PFIC CFGR once (count kept in a flag word)
     TEST_IRQ           SysTick1 interrupt at 1 kHz through a mode-3 vector table (the vendor startup's
                        format: mtvec = table | 3, entry n = handler of IRQ n), count 5 of them
                        sleeping in wfi (IRQ_NOT_ENABLED: the PFIC enable is skipped, so the
                        wfi never returns)
     TEST_SD            SD card through the SDMMC controller (sd_test.c, included here so it shares
                        the console and clock helpers; its own switches are listed there)
     TEST_AUDIO         speech output through the real driver boards/CH32H417/ch32h417_audio.c
                        (audio_test.c, included here; the driver is compiled beside prog.c and its
                        AUDIO_WRONG_* switches are the wrong drivers)
     TEST_LCD / TEST_BUTTON  the board's LCD and button drivers (lcd_test.c; the test links
                        boards/CH32H417/ch32h417_lcd.c and ch32h417_button.c in)
     TEST_HANDOFF       the V3F sleeps for an event (SCTLR.WFITOWFE + wfi); the V5F writes a word
                        in shared SRAM and sends the event; the V3F copies it to IPC MSG0
*/
#include <stdint.h>

#define REG(a) (*(volatile uint32_t *)(a))
#define RCC_CTLR     REG(0x40021000)
#define RCC_CFGR0    REG(0x40021004)
#define RCC_PLLCFGR  REG(0x40021008)
#define RCC_HBPCENR  REG(0x40021018)
#define RCC_HB2PCENR REG(0x4002101C)
#define FLASH_ACTLR  REG(0x40022000)
#define AFIO_GPIOA_AFHR REG(0x40010008)
#define GPIOA_CFGHR  REG(0x40010804)
#define USART1_STATR REG(0x40013800)
#define USART1_DATAR REG(0x40013804)
#define USART1_BRR   REG(0x40013808)
#define USART1_CTLR1 REG(0x4001380C)
#define RNG_CR       REG(0x40023C00)
#define RNG_SR       REG(0x40023C04)
#define RNG_DR       REG(0x40023C08)
#define PFIC_IENR0   REG(0xE000E100)
#define PFIC_CFGR    REG(0xE000E048)
#define PFIC_WAKEIP1 REG(0xE000E724)
#define PFIC_SCTLR   REG(0xE000ED10)
#define STK0_CTLR    REG(0xE000F000)
#define STK_ISR      REG(0xE000F004)
#define STK0_CNT     REG(0xE000F008)
#define STK0_CMP     REG(0xE000F010)
#define STK1_CTLR    REG(0xE000F080)
#define STK1_CNT     REG(0xE000F088)
#define STK1_CMP     REG(0xE000F090)
#define IPC_MSG0     REG(0xE000D020)

extern void v5f_entry(void);
volatile uint32_t boots;     /* in RAM: survives the PFIC reset (RAM is not cleared by it) */
volatile uint32_t v5f_alive; /* in RAM: written first thing, so a wrong RAM base faults at once */
volatile uint32_t ticks;
volatile uint32_t shared_word;

__attribute__((section(".text.v3f"))) void v3f_main(void)
{
#ifndef NO_HSE
    RCC_CTLR |= 1u << 16;                         /* HSEON */
    while (!(RCC_CTLR & (1u << 17))) { }          /* HSERDY */
#endif
    RCC_PLLCFGR = (RCC_PLLCFGR & ~0x3F1Fu) | 0x10u | 0x20u;   /* PLLMUL16, SRC_DIV1, PLLSRC_HSE */
    RCC_CTLR |= 1u << 24;                         /* PLLON */
    while (!(RCC_CTLR & (1u << 25))) { }          /* PLLRDY */
    RCC_PLLCFGR &= ~(0x7u << 28);                 /* SYSPLL_SEL = PLL */
    RCC_CFGR0 = (RCC_CFGR0 & ~0x300F0u) | 0x20000u; /* HPRE /1, FPRE /4 */
    FLASH_ACTLR = (FLASH_ACTLR & ~3u) | 1u;       /* LATENCY_HCLK_DIV2 */
    RCC_PLLCFGR |= 1u << 31;                      /* SYSPLL_GATE */
    RCC_CFGR0 = (RCC_CFGR0 & ~3u) | 2u;           /* SW = PLL */
    while ((RCC_CFGR0 & 0xCu) != 0x8u) { }        /* SWS = PLL */
#ifndef NO_WAKE
    PFIC_WAKEIP1 = (uint32_t)v5f_entry;           /* the model masks this to 1 KiB */
    PFIC_SCTLR |= 1u << 5;
#endif
#ifdef TEST_HANDOFF
    PFIC_SCTLR |= 1u << 3;                        /* WFITOWFE: wfi waits for an event (__WFE) */
    while (!shared_word) {
        __asm volatile ("wfi");
    }
    IPC_MSG0 = shared_word;
#endif
    for (;;) { }
}

static void put(char c)
{
    while (!(USART1_STATR & 0x80u)) { }
    USART1_DATAR = (uint8_t)c;
}

static void puts_(const char *s)
{
    while (*s) put(*s++);
}

/* Time-outs count SysTick0 (free-running at HCLK = 100 MHz), not loop iterations. */
static void clock_start(void)
{
    STK0_CMP = 0xFFFFFFFFu;
    STK0_CNT = 0;
    STK0_CTLR = (1u << 2) | 1u;
}

static uint32_t clock_us(void)
{
    return STK0_CNT / 100u;
}

static void puthex(uint32_t v)
{
    for (int i = 28; i >= 0; i -= 4) put("0123456789abcdef"[(v >> i) & 0xF]);
}

__attribute__((interrupt("machine"))) static void systick1_handler(void)
{
    STK_ISR &= ~(1u << 1);
    ticks++;
}

/* Vector table in the vendor's mode-3 format: entry n holds the address of IRQ n's handler. */
__attribute__((aligned(64))) static const uint32_t vectors[32] = {[13] = (uint32_t)systick1_handler};

#ifdef TEST_SD
#include "sd_test.c"
#endif
#ifdef TEST_AUDIO
#include "audio_test.c"
#endif
#if defined(TEST_LCD) || defined(TEST_BUTTON)
#include "lcd_test.c"
#endif

void v5f_main(void)
{
    v5f_alive = 1;
#ifndef SKIP_USART_CLOCK
    RCC_HB2PCENR |= (1u << 14);                   /* USART1EN */
#endif
    RCC_HB2PCENR |= (1u << 0) | (1u << 2);        /* AFIOEN, IOPAEN */
#ifndef SKIP_PIN_AF
    AFIO_GPIOA_AFHR = (AFIO_GPIOA_AFHR & ~0xFF0u) | (7u << 4) | (7u << 8);  /* PA9, PA10: AF7 */
    GPIOA_CFGHR = (GPIOA_CFGHR & ~0xFF0u) | (0x9u << 4) | (0x8u << 8);      /* PA9 AF_PP, PA10 IPU */
#endif
    USART1_BRR = 868;                             /* 115200 baud at HCLK 100 MHz (USART_Init) */
#ifndef NO_UE
    USART1_CTLR1 = 0x2000u | 0x8u | 0x4u;         /* UE | TE | RE */
#else
    USART1_CTLR1 = 0x8u | 0x4u;
#endif
#if defined(TEST_RNG)
#ifndef RNG_NO_CLOCK
    RCC_HBPCENR |= 1u << 9;                       /* RNGEN (RCC) */
#endif
#ifndef RNG_NO_EN
    RNG_CR |= 0x4u;                               /* RNG_CR_RNGEN */
#endif
    clock_start();
    for (int w = 0; w < 4; w++) {
        uint32_t t0 = clock_us();
        while (!(RNG_SR & 1u) && clock_us() - t0 < 200u) { }
        if (!(RNG_SR & 1u)) { puts_("rng: no data\n"); for (;;) { } }
        puthex(RNG_DR);
        put(' ');
    }
    puts_("\n");
#elif defined(TEST_SYSTICK)
    STK_ISR &= ~(1u << 1);
    STK1_CNT = 0;
    STK1_CMP = 100u * 1000u;                      /* 1000 us at HCLK 100 MHz (Delay_Us: p_us = HCLK/1e6) */
#ifndef SYSTICK_NO_EN
    STK1_CTLR = 1u << 2;
    STK1_CTLR |= 1u;
#endif
    clock_start();
    while (!(STK_ISR & (1u << 1)) && clock_us() < 2000u) { }
    puts_(STK_ISR & (1u << 1) ? "tick\n" : "no tick\n");
#elif defined(TEST_ECHO)
    puts_("echo\n");
    for (;;) {
        while (!(USART1_STATR & 0x20u)) { }
        char c = (char)USART1_DATAR;
        put(c == 'q' ? '!' : c);
    }
#elif defined(TEST_IRQ)
    __asm volatile ("csrw mtvec, %0" :: "r"((uint32_t)vectors | 3u));
    STK1_CNT = 0;
    STK1_CMP = 100000u - 1u;                      /* 1 ms at HCLK 100 MHz, auto-reload */
    STK1_CTLR = 0xFu;                             /* STE | STIE | STCLK(HCLK) | STRE */
#ifndef IRQ_NOT_ENABLED
    PFIC_IENR0 = 1u << 13;                        /* NVIC_EnableIRQ(SysTick1_IRQn) */
#endif
    __asm volatile ("csrs mstatus, %0" :: "r"(0x8u));
    clock_start();
    while (ticks < 5 && clock_us() < 20000u) {
        __asm volatile ("wfi");
    }
    puts_(ticks >= 5 ? "irq 5\n" : "no irq\n");
#elif defined(TEST_SD)
    sd_test();
#elif defined(TEST_AUDIO)
    audio_test();
#elif defined(TEST_LCD)
    lcd_test();
#elif defined(TEST_BUTTON)
    button_test();
#elif defined(TEST_HANDOFF)
    shared_word = 0x5AA5F00Du;
    PFIC_SCTLR |= 1u << 5;                        /* event to the V3F */
    clock_start();
    while (IPC_MSG0 != 0x5AA5F00Du && clock_us() < 1000u) { }
    puts_(IPC_MSG0 == 0x5AA5F00Du ? "handoff ok\n" : "handoff failed\n");
#elif defined(TEST_RESET)
    boots++;
    puts_("boot ");
    put('0' + (char)boots);
    put('\n');
    if (boots < 2) PFIC_CFGR = 0xBEEF0000u | (1u << 7);
#else
    puts_("hello from the V5F\n");
#endif
    for (;;) { }
}
