/* V3F start-up program of the tinygan CH32H417 board: power, clocks, flash clock, wake the V5F,
 * then serve the V5F's chunk reads (v3f_server.c). The start-up mirrors what the vendor's V3F
 * main() does before its application
 * (openwch/ch32h417 EVT V1.3, EVT/EXAM/GPIO/GPIO_Toggle/V3F/User/main.c: SystemInit(), then
 * NVIC_WakeUp_V5F(Core_V5F_StartAddr), then sleep waiting for an event). Register facts and
 * their files are in ../ch32h417_regs.h; this is our own code, not the vendor's. */
#include <stdint.h>

#include "ch32h417_regs.h"

/* From memory.ld: the V5F firmware's first instruction (v5f.ld puts its entry there). */
extern const char __v5f_entry_addr[];

void v3f_main(void) __attribute__((noreturn));
void v3f_serve(void) __attribute__((noreturn));     /* v3f_server.c */

/* The I/O rail VIO18 (PA9/PA10, the console, and the SD pins are on it) is raised the way every
 * vendor example that needs it does: PWR clock on, software mode, level MODE3
 * (EVT/EXAM/FMC/LCD_8bit/Common/hardware.c; PWR_VIO18ModeCfg / PWR_VIO18LevelCfg in ch32h417_pwr.c). */
static void vio18_raise(void)
{
    RCC_HB1PCENR |= RCC_HB1_PWREN;
    PWR_CTLR |= PWR_CTLR_VIO_SWCR;
    PWR_CTLR = (PWR_CTLR & ~PWR_CTLR_VSEL_VIO18) | PWR_VIO18_MODE3;
}

/* SystemInit() (system_ch32h417.c) first puts the clock tree back to its reset state: HSI on and
 * selected, PLLs off, prescalers /1. The masks are the ones SystemInit applies; after a power-on
 * reset they change nothing, after a debugger reset they make the sequence below start clean. */
static void clocks_to_reset_state(void)
{
    RCC_CTLR |= RCC_HSION;
    RCC_CFGR0 &= 0x305C0000u;
    while ((RCC_CFGR0 & RCC_SWS) != RCC_SWS_HSI) {
    }
    RCC_CFGR0 &= 0xFFBFFFFFu;
    RCC_PLLCFGR &= 0x7FFFFFFFu;
    RCC_CTLR &= 0x6AA6FFFFu;
    RCC_CTLR &= 0xFFFBFFFFu;
    RCC_PLLCFGR = (RCC_PLLCFGR & 0x0FFFC000u) | 0x00000004u;
    RCC_INTR = 0x00FF0000u;
    RCC_CFGR2 &= 0x0C600000u;
    RCC_PLLCFGR2 = (RCC_PLLCFGR2 & 0xFFF0E080u) | 0x00080020u;
}

/* HSE on, then up to HSE_STARTUP_TIMEOUT polls of HSERDY (SetSYSCLK_400M_..._HSE). */
static int hse_start(void)
{
    RCC_CTLR |= RCC_HSEON;
    for (uint32_t n = 0; n < CH32_HSE_STARTUP_TIMEOUT; n++) {
        if (RCC_CTLR & RCC_HSERDY) {
            return 1;
        }
    }
    RCC_CTLR &= ~RCC_HSEON;
    return 0;
}

/* The SDK's default preset SYSCLK_400M_CoreCLK_V5F_400M_V3F_100M_HSE: PLL = 25 MHz x16 = 400 MHz
 * as SYSCLK, HPRE /1 (V5F 400 MHz), FPRE /4 (V3F = HCLK = 100 MHz), flash at HCLK/2. Without a
 * crystal the same PLL runs from the 25 MHz HSI: the SDK's ..._HSI preset, same clocks (the SDK's
 * HSE preset itself leaves a failed HSE to the user; falling back is our choice). The order of
 * the steps is the preset's: PLL source, PLL on and ready, SYSPLL = PLL, prescalers, flash clock,
 * SYSPLL gate, switch. */
static void clocks_400_100(void)
{
    uint32_t source = hse_start() ? RCC_PLLSRC_HSE : RCC_PLLSRC_HSI;
    RCC_PLLCFGR = (RCC_PLLCFGR & ~(RCC_PLLMUL | RCC_PLL_SRC_DIV | RCC_PLLSRC)) | RCC_PLLMUL16 | RCC_PLL_SRC_DIV1 | source;
    while ((RCC_PLLCFGR & RCC_PLLSRC) != source) {
    }
    RCC_CTLR |= RCC_PLLON;
    while (!(RCC_CTLR & RCC_PLLRDY)) {
    }
    RCC_PLLCFGR &= ~(RCC_SYSPLL_GATE | RCC_SYSPLL_SEL); /* RCC_SYSPLL_PLL */
    while ((RCC_PLLCFGR & RCC_SYSPLL_SEL) != RCC_SYSPLL_PLL) {
    }
    RCC_CFGR0 = (RCC_CFGR0 & ~(RCC_HPRE | RCC_FPRE)) | RCC_HPRE_DIV1 | RCC_FPRE_DIV4;
    FLASH_ACTLR = (FLASH_ACTLR & ~FLASH_ACTLR_SCK_CFG) | FLASH_ACTLR_HCLK_DIV2;
    RCC_PLLCFGR |= RCC_SYSPLL_GATE;
    RCC_CFGR0 = (RCC_CFGR0 & ~RCC_SW) | RCC_SW_PLL;
    while ((RCC_CFGR0 & RCC_SWS) != RCC_SWS_PLL) {
    }
}

/* NVIC_WakeUp_V5F (core_riscv.h): the start address, low 10 bits cleared, into WAKEIP[1], then
 * the SCTLR event bit. */
static void wake_v5f(void)
{
    PFIC_WAKEIP_V5F = (uint32_t)__v5f_entry_addr & ~PFIC_WAKE_ALIGN_MASK;
    PFIC_SCTLR |= PFIC_SCTLR_SETEVENT;
}

void v3f_main(void)
{
    vio18_raise();
    clocks_to_reset_state();
    clocks_400_100();
    wake_v5f();
    v3f_serve();
}
