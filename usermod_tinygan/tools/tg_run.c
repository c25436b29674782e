/* tg_run: the engine as a command-line program, for sanitizer runs and cross-checks.
 *   tg_run MODEL.tgw LATENT.bin OUT.rgb     (LATENT: latent_dim int8 bytes; OUT: HWC RGB bytes)
 * Exit 0 on success; on an engine error prints it and exits 1 without writing OUT. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "tg_engine.h"

typedef struct { FILE *f; } file_src;

static int file_read(void *ctx, uint32_t off, void *dst, uint32_t len)
{
    file_src *s = (file_src *)ctx;
    if (fseek(s->f, (long)off, SEEK_SET))
        return -1;
    return fread(dst, 1, len, s->f) == len ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL.tgw LATENT.bin OUT.rgb\n", argv[0]);
        return 2;
    }
    file_src fs = {fopen(argv[1], "rb")};
    if (!fs.f) {
        perror(argv[1]);
        return 2;
    }
    fseek(fs.f, 0, SEEK_END);
    tg_source src = {&fs, (uint32_t)ftell(fs.f), file_read, NULL, NULL, NULL, {NULL, NULL}, 0};
    tg_model m;
    tg_error err = {TG_OK, -1, -1, ""};
    if (tg_open(&m, &src, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 1;
    }
    size_t arena_size = tg_arena_size(&m);
    uint8_t *arena = malloc(arena_size); /* once, outside the hot path */
    uint8_t *image = malloc((size_t)m.out_h * m.out_w * m.out_c);
    int8_t latent[1024];
    FILE *lf = fopen(argv[2], "rb");
    if (!arena || !image || !lf || m.latent_dim > sizeof latent || fread(latent, 1, m.latent_dim, lf) != m.latent_dim) {
        fprintf(stderr, "error: cannot read %u latent bytes from %s\n", m.latent_dim, argv[2]);
        return 2;
    }
    fclose(lf);
    tg_layer_stats stats[TG_MAX_LAYERS];
    if (tg_generate(&m, &src, latent, image, arena, arena_size, NULL, stats, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 1;
    }
    FILE *out = fopen(argv[3], "wb");
    if (!out || fwrite(image, 1, (size_t)m.out_h * m.out_w * m.out_c, out) != (size_t)m.out_h * m.out_w * m.out_c) {
        perror(argv[3]);
        return 2;
    }
    fclose(out);
    fclose(fs.f);
    printf("arena %zu bytes\n", arena_size);
    free(arena);
    free(image);
    return 0;
}
