/* libFuzzer harness for the engine's weight-file reader: any input must be accepted or rejected
 * with an error, never crash, hang or read out of bounds. Accepted files are fully checked (every
 * chunk CRC) and run once, so the executor sees whatever shapes the validator lets through. */
#include <stdlib.h>
#include <string.h>

#include "tg_engine.h"

typedef struct { const uint8_t *data; size_t size; } mem_src;

static int mem_read(void *ctx, uint32_t off, void *dst, uint32_t len)
{
    mem_src *m = (mem_src *)ctx;
    if ((size_t)off + len > m->size)
        return -1;
    memcpy(dst, m->data + off, len);
    return 0;
}

static uint8_t copy[65536];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > sizeof copy)
        return 0;
    /* Half of the inputs get a freshly computed header CRC, so mutations reach the descriptor and
     * layout checks behind it instead of all dying at the CRC. */
    memcpy(copy, data, size);
    if (size >= TG_HEADER_SIZE && (data[size - 1] & 1)) {
        uint32_t crc = tg_crc32(0, copy, TG_HEADER_SIZE - 4);
        for (int i = 0; i < 4; i++)
            copy[TG_HEADER_SIZE - 4 + i] = (uint8_t)(crc >> (8 * i));
    }
    data = copy;
    mem_src ms = {data, size};
    tg_source src = {&ms, (uint32_t)size, mem_read, NULL, NULL, NULL, {NULL, NULL}, 0};
    tg_model m;
    tg_error err;
    if (tg_open(&m, &src, &err) != TG_OK)
        return 0;
    size_t n = tg_arena_size(&m);
    if (n > (16u << 20))
        return 0; /* a device would refuse this arena too; keep the fuzzer's memory bounded */
    uint8_t *arena = malloc(n);
    uint8_t *image = malloc((size_t)m.out_h * m.out_w * m.out_c + 1);
    int8_t latent[65536 / 256];
    memset(latent, 7, sizeof latent);
    if (arena && image && m.latent_dim <= sizeof latent && tg_check(&m, &src, arena, n, 1, &err) == TG_OK)
        tg_generate(&m, &src, latent, image, arena, n, NULL, NULL, &err);
    free(arena);
    free(image);
    return 0;
}
