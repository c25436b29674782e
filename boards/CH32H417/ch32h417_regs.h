/* CH32H417 registers used by the tinygan board (V3F start-up and V5F HAL), with their sources.
 *
 * Every address and bit below was read in WCH's SDK, openwch/ch32h417 EVT V1.3 (commit df56913):
 *   [H]   EVT/EXAM/SRC/Peripheral/inc/ch32h417.h   (base addresses, register layouts, bit masks)
 *   [C]   EVT/EXAM/SRC/Core/core_riscv.h           (PFIC, SysTick, wake, reset)
 *   [SYS] EVT/EXAM/GPIO/GPIO_Toggle/V3F/User/system_ch32h417.c (clock presets)
 *   [PWR] EVT/EXAM/SRC/Peripheral/{inc/ch32h417_pwr.h,src/ch32h417_pwr.c}
 *   [GPIO] EVT/EXAM/SRC/Peripheral/{inc/ch32h417_gpio.h,src/ch32h417_gpio.c}
 *   [USART] EVT/EXAM/SRC/Peripheral/{inc/ch32h417_usart.h,src/ch32h417_usart.c}
 *   [RNG] EVT/EXAM/RNG/RNG/Common/hardware.c, src/ch32h417_rng.c
 *   [SDMMC] EVT/EXAM/SRC/Peripheral/{inc/ch32h417_sdmmc.h,src/ch32h417_sdmmc.c} and the SD example
 *           EVT/EXAM/SDMMC/SDMMC_SD/Common/sdmmc_sd.c (pins, order of the register writes)
 * Written for this project (no vendor code); ../shared/CH32H417.md (beside the checkout) collects the same facts.
 */
#ifndef CH32H417_REGS_H
#define CH32H417_REGS_H

#include <stdint.h>

/* Which core a file is built for: 0 = V3F (v3f/, image.mk passes it), 1 = V5F (NVIC_GetCurrentCoreID). */
#ifndef CH32H417_CORE
#define CH32H417_CORE 1
#endif

#define CH32_REG32(addr) (*(volatile uint32_t *)(addr))
#define CH32_REG16(addr) (*(volatile uint16_t *)(addr))

/* ---- clocks of the SDK's default preset SYSCLK_400M_CoreCLK_V5F_400M_V3F_100M_HSE [SYS] */
#define CH32_OSC_HZ             25000000u   /* HSE crystal and HSI RC both 25 MHz [H] HSE_VALUE/HSI_VALUE */
#define CH32_SYSCLK_HZ          400000000u  /* PLL x16 */
#define CH32_V5F_HZ             400000000u  /* SYSCLK >> HPRE(/1) */
#define CH32_HCLK_HZ            100000000u  /* V5F clock >> FPRE(/4): V3F core, peripherals, SysTick */
#define CH32_HSE_STARTUP_TIMEOUT 0x1000000u /* [H] HSE_STARTUP_TIMEOUT (poll iterations) */

/* ---- RCC at 0x40021000 [H] RCC_TypeDef */
#define RCC_BASE                0x40021000u
#define RCC_CTLR                CH32_REG32(RCC_BASE + 0x00)
#define RCC_CFGR0               CH32_REG32(RCC_BASE + 0x04)
#define RCC_PLLCFGR             CH32_REG32(RCC_BASE + 0x08)
#define RCC_INTR                CH32_REG32(RCC_BASE + 0x0C)
#define RCC_HBPCENR             CH32_REG32(RCC_BASE + 0x18)
#define RCC_HB2PCENR            CH32_REG32(RCC_BASE + 0x1C)
#define RCC_HB1PCENR            CH32_REG32(RCC_BASE + 0x20)
#define RCC_HBRSTR              CH32_REG32(RCC_BASE + 0x2C)
#define RCC_CFGR2               CH32_REG32(RCC_BASE + 0x30)
#define RCC_PLLCFGR2            CH32_REG32(RCC_BASE + 0x34)
/* CTLR */
#define RCC_HSION               0x00000001u
#define RCC_HSEON               0x00010000u
#define RCC_HSERDY              0x00020000u
#define RCC_PLLON               0x01000000u
#define RCC_PLLRDY              0x02000000u
/* CFGR0 */
#define RCC_SW                  0x00000003u
#define RCC_SW_PLL              0x00000002u
#define RCC_SWS                 0x0000000Cu
#define RCC_SWS_HSI             0x00000000u
#define RCC_SWS_PLL             0x00000008u
#define RCC_HPRE                0x000000F0u
#define RCC_HPRE_DIV1           0x00000000u
#define RCC_FPRE                0x00030000u
#define RCC_FPRE_DIV4           0x00020000u
/* PLLCFGR */
#define RCC_PLLMUL              0x0000001Fu
#define RCC_PLLMUL16            0x00000010u /* PLLMULTB[16] = 16 in SystemAndCoreClockUpdate [SYS] */
#define RCC_PLLSRC              0x000000E0u
#define RCC_PLLSRC_HSI          0x00000000u
#define RCC_PLLSRC_HSE          0x00000020u
#define RCC_PLL_SRC_DIV         0x00003F00u
#define RCC_PLL_SRC_DIV1        0x00000000u
#define RCC_SYSPLL_SEL          0x70000000u
#define RCC_SYSPLL_PLL          0x00000000u
#define RCC_SYSPLL_GATE         0x80000000u
/* peripheral clock enables */
#define RCC_HB_DMA1EN           0x00000001u /* HBPCENR bit 0 (RCC_DMA1EN) */
#define RCC_HB_RNGEN            0x00000200u /* HBPCENR bit 9 */
#define RCC_HB_SDMMCEN          0x00000400u /* HBPCENR bit 10 (RCC_SDMMCEN) */
#define RCC_HB_SDMMCRST         0x00000400u /* HBRSTR bit 10 (RCC_SDMMCRST) */
#define RCC_HB2_IOPCEN          0x00000010u /* HB2PCENR bit 4 (RCC_IOPCEN) */
#define RCC_HB2_IOPDEN          0x00000020u /* HB2PCENR bit 5 (RCC_IOPDEN) */
#define RCC_HB2_AFIOEN          0x00000001u /* HB2PCENR bit 0 */
#define RCC_HB2_IOPAEN          0x00000004u /* HB2PCENR bit 2 */
#define RCC_HB2_USART1EN        0x00004000u /* HB2PCENR bit 14 */
#define RCC_HB1_PWREN           0x10000000u /* HB1PCENR bit 28 */
#define RCC_HB1_SWPMIEN         0x80000000u /* HB1PCENR bit 31 (RCC_SWPMIEN) */

/* ---- FLASH controller at 0x40022000 [H]: ACTLR bits[1:0] select the flash clock */
#define FLASH_ACTLR             CH32_REG32(0x40022000u)
#define FLASH_ACTLR_SCK_CFG     0x00000003u
#define FLASH_ACTLR_HCLK_DIV2   0x00000001u /* FLASH_ACTLR_LATENCY_HCLK_DIV2, what SystemInit selects [SYS] */

/* ---- PWR at 0x40007000 [H][PWR]: the VIO18 I/O rail (PA9/PA10 and most pins are on it) */
#define PWR_CTLR                CH32_REG32(0x40007000u)
#define PWR_CTLR_VIO_SWCR       0x00000200u /* PWR_VIO18CFGMODE_SW: level set by software */
#define PWR_CTLR_VSEL_VIO18     0x00001C00u
#define PWR_VIO18_MODE3         0x00000C00u /* PWR_VIO18Level_MODE3: the level every vendor example selects */

/* ---- GPIO / AFIO [H][GPIO] */
#define GPIOA_BASE              0x40010800u
#define GPIOC_BASE              0x40011000u
#define GPIOD_BASE              0x40011400u
#define GPIO_CFGLR(base)        CH32_REG32((base) + 0x00) /* pins 0..7, 4 bits each */
#define GPIO_CFGHR(base)        CH32_REG32((base) + 0x04) /* pins 8..15, 4 bits each */
#define GPIO_BSHR(base)         CH32_REG32((base) + 0x10)
#define GPIO_SPEED(base)        CH32_REG32((base) + 0x1C) /* 2 bits per pin */
#define GPIO_CFG_AF_PP          0x9u /* GPIO_Mode_AF_PP 0x18: low nibble 8, output flag -> |1 (GPIO_Init) */
#define GPIO_CFG_IN_PULL        0x8u /* GPIO_Mode_IPU 0x48: low nibble 8; pull-up chosen by BSHR */
#define GPIO_SPEED_VERY_HIGH    0x3u
#define AFIO_BASE               0x40010000u
#define AFIO_GPIOA_AFHR         CH32_REG32(AFIO_BASE + 0x08) /* AF of PA8..PA15, 4 bits each */
#define GPIO_AF7                0x7u

/* ---- USART1 at 0x40013800 [H][USART]: 16-bit registers at a 4-byte stride */
#define USART1_BASE             0x40013800u
#define USART_STATR(base)       CH32_REG16((base) + 0x00)
#define USART_DATAR(base)       CH32_REG16((base) + 0x04)
#define USART_BRR(base)         CH32_REG16((base) + 0x08)
#define USART_CTLR1(base)       CH32_REG16((base) + 0x0C)
#define USART_CTLR2(base)       CH32_REG16((base) + 0x10)
#define USART_CTLR3(base)       CH32_REG16((base) + 0x14)
#define USART_FLAG_ORE          0x0008u
#define USART_FLAG_RXNE         0x0020u
#define USART_FLAG_TC           0x0040u
#define USART_FLAG_TXE          0x0080u
#define USART_CTLR1_RE          0x0004u
#define USART_CTLR1_TE          0x0008u
#define USART_CTLR1_UE          0x2000u

/* ---- RNG at 0x40023C00 [H][RNG] */
#define RNG_CR                  CH32_REG32(0x40023C00u)
#define RNG_SR                  CH32_REG32(0x40023C04u)
#define RNG_DR                  CH32_REG32(0x40023C08u)
#define RNG_CR_RNGEN            0x00000004u
#define RNG_SR_DRDY             0x00000001u
#define RNG_SR_CECS             0x00000002u
#define RNG_SR_SECS             0x00000004u
#define RNG_SR_CEIS             0x00000020u
#define RNG_SR_SEIS             0x00000040u

/* ---- SWPMI at 0x40008400 [H] SWPMI_TypeDef: OR is the 10th word. The SD example sets OR bit 0
 * before it drives the SD pins (SD_GPIO_Init, sdmmc_sd.c); the SDK does not say what the bit does. */
#define SWPMI_OR                CH32_REG32(0x40008400u + 0x24)
#define SWPMI_OR_SD_EXAMPLE     0x00000001u

/* ---- SDMMC at 0x40024000 [H] SDMMC_TypeDef, bit definitions "SDMMC" [SDMMC] */
#define SDMMC_BASE              0x40024000u
#define SDMMC_ARGUMENT          CH32_REG32(SDMMC_BASE + 0x00)
#define SDMMC_CMD_SET           CH32_REG16(SDMMC_BASE + 0x04)
#define SDMMC_RESPONSE(n)       CH32_REG32(SDMMC_BASE + 0x08 + 4 * (n)) /* RESPONSE0..3 */
#define SDMMC_WRITE_CONT        CH32_REG32(SDMMC_BASE + 0x14)          /* RESPONSE3 when written */
#define SDMMC_CONTROL           CH32_REG16(SDMMC_BASE + 0x18)
#define SDMMC_TIMEOUT           (*(volatile uint8_t *)(SDMMC_BASE + 0x1C))
#define SDMMC_STATUS            CH32_REG32(SDMMC_BASE + 0x20)
#define SDMMC_INT_FG            CH32_REG16(SDMMC_BASE + 0x24)          /* write 1 to clear */
#define SDMMC_INT_EN            CH32_REG16(SDMMC_BASE + 0x28)
#define SDMMC_DMA_BEG1          CH32_REG32(SDMMC_BASE + 0x2C)
#define SDMMC_BLOCK_CFG         CH32_REG32(SDMMC_BASE + 0x30)          /* size << 16 | count */
#define SDMMC_TRAN_MODE         CH32_REG32(SDMMC_BASE + 0x34)
#define SDMMC_CLK_DIV           CH32_REG16(SDMMC_BASE + 0x38)
/* CMD_SET */
#define SDMMC_CMDIDX_MASK       0x003Fu
#define SDMMC_RESP_NONE         0x0000u     /* SDMMC_Resp_NONE */
#define SDMMC_RESP_136          0x0100u     /* SDMMC_Resp_136 (R2) */
#define SDMMC_RESP_48           0x0200u     /* SDMMC_Resp_48 (R1, R3, R6, R7) */
#define SDMMC_CKCRC             0x0400u     /* check the response's CRC7 */
#define SDMMC_CKIDX             0x0800u     /* check the response's command index */
/* CONTROL */
#define SDMMC_LW_MASK           0x0003u     /* bus width: 0 = 1 bit, 1 = 4 bits, 2 = 8 bits */
#define SDMMC_LW_4BIT           0x0001u
#define SDMMC_DMAEN             0x0008u
#define SDMMC_NEGSMP            0x0020u     /* sample on the falling edge (SDMMC_SampleClock_Falling) */
/* STATUS */
#define SDMMC_BLOCK_NUM_MASK    0x0000FFFFu /* blocks transferred (SDMMC_GetBlockNumSuccess) */
#define SDMMC_DAT0STA           0x00020000u /* DAT0 line high: the card is not busy */
/* INT_FG */
#define SDMMC_IF_RE_TMOUT       0x0001u     /* no response */
#define SDMMC_IF_RECRC_WR       0x0002u     /* response CRC wrong */
#define SDMMC_IF_REIDX_ER       0x0004u     /* response index wrong */
#define SDMMC_IF_CMDDONE        0x0008u
#define SDMMC_IF_DATTMO         0x0010u     /* data time-out */
#define SDMMC_IF_TRANERR        0x0020u     /* data CRC (read) or CRC status (write) error */
#define SDMMC_IF_TRANDONE       0x0040u
#define SDMMC_IF_BKGAP          0x0080u     /* a block done, the clock stopped in the gap */
#define SDMMC_IF_FIFO_OV        0x0100u
#define SDMMC_IF_ALL            0x07FFu
/* TRAN_MODE */
#define SDMMC_DMA_DIR_SEND      0x00000001u /* SDMMC_TranDir_Send; 0 = receive */
#define SDMMC_GAP_STOP          0x00000002u
#define SDMMC_AUTOGAPSTOP       0x00000010u
/* CLK_DIV */
#define SDMMC_DIV_MASK          0x001Fu
#define SDMMC_CLKOE             0x0100u     /* drive SDCK */
#define SDMMC_CLKMODE_HIGH      0x0200u     /* SDMMC_ClockSpeed_High; 0 = low speed */

/* ---- PFIC at 0xE000E000 [C] PFIC_Type */
#define PFIC_CFGR               CH32_REG32(0xE000E048u)
#define PFIC_WAKEIP_V5F         CH32_REG32(0xE000E724u) /* WAKEIP[1] */
#define PFIC_SCTLR              CH32_REG32(0xE000ED10u)
#define PFIC_KEY3               0xBEEF0000u             /* NVIC_KEY3 */
#define PFIC_CFGR_SYSRESET      (1u << 7)               /* NVIC_SystemReset: CFGR = KEY3 | 1<<7 */
#define PFIC_SCTLR_SLEEPDEEP    (1u << 2)               /* set by PWR_EnterSTOPMode */
#define PFIC_SCTLR_WFITOWFE     (1u << 3)               /* __WFE sets it, __WFI clears it */
#define PFIC_SCTLR_SEVONPEND    (1u << 4)
#define PFIC_SCTLR_SETEVENT     (1u << 5)               /* NVIC_WakeUp_V5F sets it after WAKEIP */
#define PFIC_SCTLR_COREID       (1u << 16)              /* NVIC_GetCurrentCoreID: 1 = V5F */
#define PFIC_WAKE_ALIGN_MASK    0x3FFu                  /* "addr%1024 == 0": low 10 bits dropped */

/* ---- SysTick0 (the V3F's) at 0xE000F000 and SysTick1 (the V5F's) at 0xE000F080, same layout;
 * SysTick1's flag is bit 1 of SysTick0's ISR [C], SRC/Debug/debug.c */
#define SYSTICK0_CTLR           CH32_REG32(0xE000F000u)
#define SYSTICK0_CNT            CH32_REG32(0xE000F008u)
#define SYSTICK0_CMP            CH32_REG32(0xE000F010u)
#define SYSTICK1_CTLR           CH32_REG32(0xE000F080u)
#define SYSTICK1_CNT            CH32_REG32(0xE000F088u)
#define SYSTICK1_CMP            CH32_REG32(0xE000F090u)
#define SYSTICK_CTLR_STE        (1u << 0) /* count enable */
#define SYSTICK_CTLR_STCLK      (1u << 2) /* count at HCLK */
#define SYSTICK_CTLR_STRE       (1u << 3) /* back to 0 after CNT == CMP (CoreMark core_portme.c: 0b1101) */

/* ---- HSEM at 0xE000C000 [C] HSEM_Type (RX[32] at 0x000), ch32h417_hsem.c: HSEM_Take writes
 * ProcessID | CoreID << 8 | 1 << 31 to RX[n] and owns the semaphore when RX[n] reads that value
 * back; HSEM_ReleaseOneSem writes ProcessID | CoreID << 8 (bit 31 clear). */
#define HSEM_RX(n)              CH32_REG32(0xE000C000u + 4u * (n))
#define HSEM_RX_LOCK            (1u << 31)
#define HSEM_RX_COREID_SHIFT    8

/* ---- IPC mailbox at 0xE000D000 [C] IPC_Type: STS 0x14 (4 channels x 8 status bits), SET 0x18 sets
 * STS bits, CLR 0x1C clears them, ISR 0x04 reads them (ch32h417_ipc.c IPC_GetITStatus). */
#define IPC_ISR                 CH32_REG32(0xE000D004u)
#define IPC_SET                 CH32_REG32(0xE000D018u)
#define IPC_CLR                 CH32_REG32(0xE000D01Cu)

/* ==== Speech output: TIM6, DMA2, DMAMUX, DAC channel 1 (issue 13; used by ch32h417_audio.c) ==== */
/* ---- RCC [H] RCC_DMA2EN, RCC_TIM6EN, RCC_DACEN; RCC_PPRE1 (the timer clock of TIM2..7: HCLK / 1, 2, 4,
 *      8 for field values 0, 5, 6, 7; ch32h417_rcc.c RCC_TIMClockSourDivConfig) */
#define RCC_HB_DMA2EN           0x00000002u /* HBPCENR bit 1 */
#define RCC_HB1_TIM6EN          0x00000010u /* HB1PCENR bit 4 */
#define RCC_HB1_DACEN           0x20000000u /* HB1PCENR bit 29 */
#define RCC_PPRE1               0x00000700u /* CFGR0 [10:8] */
#define RCC_PPRE1_POS           8u

/* ---- TIM6 at 0x40001000 [H] TIM_TypeDef (16-bit registers at a 4-byte stride); a basic timer
 *      (ch32h417_tim.c TIM_TimeBaseInit sets no counter mode for TIM6/7) */
#define TIM6_BASE               0x40001000u
#define TIM6_CTLR1              CH32_REG16(TIM6_BASE + 0x00)
#define TIM6_CTLR2              CH32_REG16(TIM6_BASE + 0x04)
#define TIM6_INTFR              CH32_REG16(TIM6_BASE + 0x10)
#define TIM6_SWEVGR             CH32_REG16(TIM6_BASE + 0x14)
#define TIM6_CNT                CH32_REG16(TIM6_BASE + 0x24)
#define TIM6_PSC                CH32_REG16(TIM6_BASE + 0x28)
#define TIM6_ATRLR              CH32_REG16(TIM6_BASE + 0x2C)
#define TIM_CEN                 0x0001u
#define TIM_MMS_UPDATE          0x0020u     /* TIM_TRGOSource_Update: TRGO = update event (ch32h417_tim.h) */
#define TIM_UIF                 0x0001u
#define TIM_UG                  0x0001u     /* TIM_PSCReloadMode_Immediate */

/* ---- DMA2 at 0x40020400, channel n at +8 + 0x14 (n - 1) [H] DMA_TypeDef, DMA_Channel_TypeDef */
#define DMA2_BASE               0x40020400u
#define DMA2_INTFR              CH32_REG32(DMA2_BASE + 0x00)
#define DMA2_INTFCR             CH32_REG32(DMA2_BASE + 0x04)
#define DMA2_CH_BASE(n)         (DMA2_BASE + 0x08u + 0x14u * ((n) - 1u))
#define DMA_CFGR(chb)           CH32_REG32((chb) + 0x00)
#define DMA_CNTR(chb)           CH32_REG32((chb) + 0x04)
#define DMA_PADDR(chb)          CH32_REG32((chb) + 0x08)
#define DMA_MADDR(chb)          CH32_REG32((chb) + 0x0C)
#define DMA_CFGR_EN             0x0001u
#define DMA_CFGR_DIR_READ_MEM   0x0010u     /* DMA_DIR_PeripheralDST: memory -> peripheral */
#define DMA_CFGR_CIRC           0x0020u
#define DMA_CFGR_MINC           0x0080u
#define DMA_CFGR_PSIZE_BYTE     0x0000u
#define DMA_CFGR_MSIZE_BYTE     0x0000u
#define DMA_CFGR_PL_HIGH        0x2000u     /* DMA_Priority_High */
#define DMA_GIF(n)              (0x1u << (4u * ((n) - 1u)))
#define DMA_TCIF(n)             (0x2u << (4u * ((n) - 1u)))
#define DMA_HTIF(n)             (0x4u << (4u * ((n) - 1u)))

/* ---- DMAMUX at 0x40020800 [H] DMAMUX_TypeDef; ch32h417_dma.c DMA_MuxChannelConfig: mux channel
 *      c (0..15) is byte c % 4 of CFGR(c / 4) and holds request - 1 (7 bits).  The DAC example
 *      (EVT/EXAM/DAC/DAC_DMA/Common/hardware.c) routes DAC1's request 0x67 to DMA_MuxChannel11
 *      (index 10) = DMA2 channel 3 ("DAC1--->DMA2.CH3"). */
#define DMAMUX_BASE             0x40020800u
#define DMAMUX_CFGR(c)          CH32_REG32(DMAMUX_BASE + 4u * ((c) / 4u))
#define DMAMUX_SHIFT(c)         (8u * ((c) % 4u))
#define DMAMUX_MASK             0x7Fu
#define DMA_REQ_DAC1            0x67u
#define DMAMUX_CH_DMA2_CH3      10u

/* ---- DAC at 0x40007400 [H] DAC_TypeDef and DAC_CTLR bits; ch32h417_dac.h DAC_Trigger_T6_TRGO 0x04
 *      (TSEL1 = 000 with TEN1), DAC_Trigger_T8_TRGO 0x0C (TSEL1 = 001); channel 1 is PA4 (DAC_DMA example) */
#define DAC_BASE                0x40007400u
#define DAC_CTLR                CH32_REG32(DAC_BASE + 0x00)
#define DAC_R8BDHR1_ADDR        (DAC_BASE + 0x10u)
#define DAC_R8BDHR1             CH32_REG32(DAC_R8BDHR1_ADDR)
#define DAC_DOR1                CH32_REG32(DAC_BASE + 0x2C)
#define DAC_EN1                 0x00000001u
#define DAC_TEN1                0x00000004u
#define DAC_TSEL1               0x00000038u
#define DAC_TSEL1_T6_TRGO       0x00000000u
#define DAC_TSEL1_T8_TRGO       0x00000008u
#define DAC_DMAEN1              0x00001000u
#define DAC1_PIN                4u          /* PA4 */
#define GPIO_CFG_ANALOG         0x0u        /* GPIO_Mode_AIN 0: CNF 00, MODE 00 */

/* ======== Issue 13: LCD on SPI2 + DMA1, button on EXTI (ch32h417_lcd.c, ch32h417_button.c) ======== */

/* ---- more clock enables [H] RCC_SPI2EN (HB1PCENR), RCC_IOPBEN (HB2PCENR) */
#define RCC_HB1_SPI2EN          0x00004000u /* HB1PCENR bit 14 */
#define RCC_HB2_IOPBEN          0x00000008u /* HB2PCENR bit 3 */
#define GPIOB_BASE              0x40010C00u
#define GPIO_INDR(base)         CH32_REG32((base) + 0x08)
#define GPIO_BCR(base)          CH32_REG32((base) + 0x14)
#define GPIO_CFG_OUT_PP         0x1u /* GPIO_Mode_Out_PP 0x10: MODE 01 (any output), CNF 00 (GPIO_Init) */
#define AFIO_GPIO_AFLR(port)    CH32_REG32(AFIO_BASE + 0x04 + 8u * (port)) /* port 0 = A: AF of pins 0..7 */
#define AFIO_GPIO_AFHR(port)    CH32_REG32(AFIO_BASE + 0x08 + 8u * (port)) /* pins 8..15 */
#define AFIO_EXTICR1            CH32_REG32(AFIO_BASE + 0x3C) /* lines 0..7, 4 bits each (GPIO_EXTILineConfig) */
#define GPIO_AF5                0x5u
#define GPIO_PORT_B             1u   /* GPIO_PortSourceGPIOB */

/* ---- SPI2 at 0x40003800 [H] SPI_TypeDef (16-bit registers, 4-byte stride), SPI_CTLR1/CTLR2/STATR
 * bits; [SPI] EVT/EXAM/SRC/Peripheral/inc/ch32h417_spi.h, SPI/SPI_DMA/Common/hardware.c (pins) */
#define SPI2_BASE               0x40003800u
#define SPI_CTLR1(base)         CH32_REG16((base) + 0x00)
#define SPI_CTLR2(base)         CH32_REG16((base) + 0x04)
#define SPI_STATR(base)         CH32_REG16((base) + 0x08)
#define SPI_DATAR(base)         CH32_REG16((base) + 0x0C)
#define SPI_CTLR1_MSTR          0x0004u
#define SPI_CTLR1_BR_SHIFT      3u      /* BR[2:0]: SPI_BaudRatePrescaler_Mode0..7 */
#define SPI_CTLR1_SPE           0x0040u
#define SPI_CTLR1_SSI           0x0100u
#define SPI_CTLR1_SSM           0x0200u /* SPI_NSS_Soft */
#define SPI_CTLR1_BIDIOE        0x4000u
#define SPI_CTLR1_BIDIMODE      0x8000u /* with BIDIOE: SPI_Direction_1Line_Tx 0xC000 */
#define SPI_CTLR2_TXDMAEN       0x0002u /* SPI_I2S_DMAReq_Tx */
#define SPI_STATR_TXE           0x0002u
#define SPI_STATR_BSY           0x0080u

/* ---- DMA1 at 0x40020000 (the channel, flag and DMAMUX macros are the speech section's above); the
 *      LCD's: DMA1 channel 3 <- DMA_MuxChannel3 (index 2) <- request 65, as in SPI/SPI_DMA */
#define DMA1_BASE               0x40020000u
#define DMA1_INTFR              CH32_REG32(DMA1_BASE + 0x00)
#define DMA1_INTFCR             CH32_REG32(DMA1_BASE + 0x04) /* a GIF bit clears the channel's flags */
#define DMA1_CH_BASE(n)         (DMA1_BASE + 0x08u + 0x14u * ((n) - 1u))
#define DMA_CFGR_PL_VERY_HIGH   0x3000u     /* DMA_Priority_VeryHigh */
#define DMA_REQ_SPI2_TX         65u
#define DMAMUX_CH_DMA1_CH3      2u

/* ---- EXTI at 0x40010400 [H] EXTI_TypeDef; EVT/EXAM/SRC/Peripheral/src/ch32h417_exti.c */
#define EXTI_INTENR             CH32_REG32(0x40010400u)
#define EXTI_RTENR              CH32_REG32(0x40010408u)
#define EXTI_FTENR              CH32_REG32(0x4001040Cu)
#define EXTI_INTFR              CH32_REG32(0x40010414u) /* write 1 to clear (EXTI_ClearFlag) */

#endif
