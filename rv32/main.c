/* Bare-metal RV32 test image (QEMU virt, rv32imafc): runs the unchanged engine on the weight file.
 *
 * Files come through semihosting (picolibc's libsemihost: fopen/fread in QEMU's working directory):
 *   model.tgw   the weight file
 *   latent.bin  latent_dim int8 values, computed on the host by scripts/latent.py
 *   out.rgb     written: the image, HWC RGB
 * Prints per-layer retired-instruction counts. The engine's clock hook reads minstret, so the
 * engine's own per-layer stats split each layer into waiting for data (semihosting reads), CRC
 * checks and kernel instructions. Under `qemu -icount shift=0` the counts are exact and repeatable.
 */
#include <stdint.h>
#include <stdio.h>
#include <semihost.h>
#include <string.h>

#include "tg_engine.h"

#define ARENA_BYTES (320u * 1024u)
#define STACK_PAINT_BYTES (16u * 1024u)

static uint8_t arena[ARENA_BYTES] __attribute__((aligned(16)));
static uint8_t image[64 * 64 * 3];

/* csrr rd, minstret (0xB02), encoded with .insn: gcc 12 only picks the rv32 multilib for the exact
 * -march=rv32imafc, whose assembler profile has no Zicsr mnemonics. */
static inline uint32_t instret(void)
{
    uint32_t v;
    __asm__ volatile(".insn i 0x73, 2, %0, x0, -1278" : "=r"(v)); /* imm 0xB02 as signed 12 bits */
    return v;
}

static uint32_t clock_instret(void *ctx)
{
    (void)ctx;
    return instret();
}

typedef struct {
    FILE *f;
} file_src;

static int file_read(void *ctx, uint32_t off, void *dst, uint32_t len)
{
    file_src *s = (file_src *)ctx;
    if (fseek(s->f, (long)off, SEEK_SET))
        return -1;
    return fread(dst, 1, len, s->f) == len ? 0 : -1;
}

/* Paint the stack below the current frame, run, then find the deepest byte that changed.
 * Addresses are handled as integers: the region is below any C object. */
static uintptr_t stack_here(void)
{
    uintptr_t sp;
    __asm__ volatile("mv %0, sp" : "=r"(sp));
    return sp;
}

static uintptr_t paint_stack(void)
{
    uintptr_t top = stack_here() - 256, low = top - STACK_PAINT_BYTES;
    for (uintptr_t a = low; a < top; a++)
        *(volatile uint8_t *)a = 0xA5;
    return low;
}

static uint32_t stack_used(uintptr_t low, uintptr_t top)
{
    uintptr_t a = low;
    while (a < top && *(volatile uint8_t *)a == 0xA5)
        a++;
    return (uint32_t)(top - a);
}

static int run(void)
{
    file_src fs = {fopen("model.tgw", "rb")};
    FILE *lf = fopen("latent.bin", "rb");
    if (!fs.f || !lf) {
        printf("error: cannot open model.tgw / latent.bin\n");
        return 2;
    }
    fseek(fs.f, 0, SEEK_END);
    tg_source src = {&fs, (uint32_t)ftell(fs.f), file_read, NULL, NULL, NULL, {NULL, NULL}, 0};
    tg_model m;
    tg_error err;
    if (tg_open(&m, &src, &err)) {
        printf("error: %s\n", err.msg);
        return 1;
    }
    int8_t latent[512];
    if (m.latent_dim > sizeof latent || fread(latent, 1, m.latent_dim, lf) != m.latent_dim) {
        printf("error: latent.bin too short\n");
        return 2;
    }
    fclose(lf);
    size_t need = tg_arena_size(&m);
    if (need > ARENA_BYTES || (size_t)m.out_h * m.out_w * m.out_c > sizeof image) {
        printf("error: model needs a %u-byte arena, this image has %u\n", (unsigned)need, ARENA_BYTES);
        return 1;
    }
    uintptr_t top = stack_here(), low = paint_stack();
    tg_hooks hooks = {NULL, NULL, clock_instret, NULL};
    tg_layer_stats st[TG_MAX_LAYERS];
    uint32_t t0 = instret();
    tg_status rc = tg_generate(&m, &src, latent, image, arena, need, &hooks, st, &err);
    uint32_t total = instret() - t0;
    uint32_t stack = stack_used(low, top);
    if (rc) {
        printf("error: %s\n", err.msg);
        return 1;
    }
    FILE *out = fopen("out.rgb", "wb");
    if (!out || fwrite(image, 1, (size_t)m.out_h * m.out_w * m.out_c, out) != (size_t)m.out_h * m.out_w * m.out_c) {
        printf("error: cannot write out.rgb\n");
        return 2;
    }
    fclose(out);
    fclose(fs.f);
    for (int i = 0; i < m.n_layers; i++)
        printf("layer %d macs %lu bytes %lu read_instr %lu crc_instr %lu kernel_instr %lu\n", i,
               (unsigned long)st[i].macs, (unsigned long)st[i].bytes_read, (unsigned long)st[i].wait_us,
               (unsigned long)st[i].check_us, (unsigned long)st[i].compute_us);
    printf("total_instr %lu arena %lu stack %lu\n", (unsigned long)total, (unsigned long)need, (unsigned long)stack);
    return 0;
}

/* Leave QEMU with the program's status: returning from main would spin in picolibc's _exit on
 * this 32-bit target instead of ending the emulator. */
int main(void)
{
    int rc = run();
    fflush(stdout);
    /* QEMU exits 0 for ApplicationExit and 1 for any other reason */
    sys_semihost_exit(rc == 0 ? ADP_Stopped_ApplicationExit : ADP_Stopped_RunTimeErrorUnknown, (uintptr_t)rc);
}
