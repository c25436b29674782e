/* Bare-metal RV32 check of the engine's tg_crc32 (QEMU virt, rv32imafc), run by tests/test_crc32.py.
 *
 * Reads through semihosting:
 *   data.bin   up to DATA_BYTES random bytes written by the test
 *   cases.txt  lines "offset length split": the CRC of data[offset, offset+length) in one call and
 *              in two chained calls split at `split`
 * Prints "crc <offset> <length> <one call> <chained>" per case, for the test to compare with
 * zlib.crc32, then "speed bytes <n> instr <minstret delta>" for one aligned 16 KiB call.
 */
#include <stdint.h>
#include <stdio.h>
#include <semihost.h>

#include "tg_engine.h"

#define DATA_BYTES (16u * 1024u + 16u)

static uint8_t data[DATA_BYTES] __attribute__((aligned(16)));

/* csrr rd, minstret, as .insn (see main.c) */
static inline uint32_t instret(void)
{
    uint32_t v;
    __asm__ volatile(".insn i 0x73, 2, %0, x0, -1278" : "=r"(v));
    return v;
}

static int run(void)
{
    FILE *df = fopen("data.bin", "rb"), *cf = fopen("cases.txt", "r");
    if (!df || !cf) {
        printf("error: cannot open data.bin / cases.txt\n");
        return 2;
    }
    size_t n = fread(data, 1, sizeof data, df);
    fclose(df);
    unsigned long off, len, split;
    while (fscanf(cf, "%lu %lu %lu", &off, &len, &split) == 3) {
        if (off + len > n || split > len) {
            printf("error: case %lu %lu %lu outside the %lu data bytes\n", off, len, split, (unsigned long)n);
            return 2;
        }
        uint32_t one = tg_crc32(0, data + off, len);
        uint32_t two = tg_crc32(tg_crc32(0, data + off, split), data + off + split, len - split);
        printf("crc %lu %lu %08lx %08lx\n", off, len, (unsigned long)one, (unsigned long)two);
    }
    fclose(cf);
    uint32_t t0 = instret();
    volatile uint32_t sink = tg_crc32(0, data, 16384);
    uint32_t t1 = instret();
    (void)sink;
    printf("speed bytes 16384 instr %lu\n", (unsigned long)(t1 - t0));
    return 0;
}

int main(void)
{
    int rc = run();
    fflush(stdout);
    sys_semihost_exit(rc == 0 ? ADP_Stopped_ApplicationExit : ADP_Stopped_RunTimeErrorUnknown, (uintptr_t)rc);
}
