/* tinygan engine: streams a .tgw weight file (docs/weight-format.md) and paints a 64x64x3 image.
 *
 * Portable C99 shared unchanged by the MicroPython module, the CPython extension and the
 * bare-metal RV32 image: no allocation (the caller provides one arena), no OS calls, no stdio.
 * All I/O goes through tg_source; all timing through an optional clock hook.
 */
#ifndef TG_ENGINE_H
#define TG_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#define TG_MAX_LAYERS 6
#define TG_SECTOR 512u
#define TG_HEADER_SIZE 512u
#define TG_GROUP 4
#define TG_N_THRESH 255

enum { TG_KIND_K4S1P0 = 1, TG_KIND_K4S2P1 = 2 };
enum { TG_ACT_REQUANT = 1, TG_ACT_THRESHOLD = 2 };

typedef enum {
    TG_OK = 0,
    TG_ERR_IO = -1,        /* the source failed or returned short */
    TG_ERR_FORMAT = -2,    /* the header or a descriptor is invalid */
    TG_ERR_CRC = -3,       /* a CRC did not match (header, parameter block or chunk) */
    TG_ERR_PARAM = -4,     /* a parameter value is out of range */
    TG_ERR_ARENA = -5,     /* the arena is too small */
    TG_ERR_ARG = -6,       /* a bad argument */
    TG_ERR_CANCELLED = -7  /* the progress callback asked to stop */
} tg_status;

typedef struct {
    tg_status code;
    int layer;     /* -1 when not about a layer */
    int chunk;     /* -1 when not about a chunk */
    char msg[160]; /* human-readable, names the field / layer / chunk */
} tg_error;

/* Where the weight file comes from. read() is blocking. start()/wait() are optional (both NULL
 * or both set): start() begins an asynchronous read into dst and returns at once; wait() blocks
 * until the read begun last has finished. Each returns 0 on success, non-zero on failure.
 * last_crc() is optional with start()/wait(): the CRC-32 (tg_crc32) of the bytes the last
 * finished asynchronous read delivered, computed by the reader as the data arrives (the I/O
 * core on the board, the reader thread on the host), so the compute side only compares it with
 * the expected value. NULL: the engine computes it.
 * buffer[2] / buffer_size are optional with start()/wait(): two buffers the asynchronous reader
 * can write into (on the CH32H417 shared SRAM, which the SD controller's DMA reaches and the
 * arena in DTCM is not). A layer whose chunks fit is double-buffered there instead of in the
 * arena's own chunk buffers; NULL: the arena's. */
typedef struct {
    void *ctx;
    uint32_t size; /* bytes the source holds (the file size), checked against the header */
    int (*read)(void *ctx, uint32_t offset, void *dst, uint32_t len);
    int (*start)(void *ctx, uint32_t offset, void *dst, uint32_t len);
    int (*wait)(void *ctx);
    uint32_t (*last_crc)(void *ctx);
    uint8_t *buffer[2];
    uint32_t buffer_size;
} tg_source;

typedef struct {
    uint8_t kind, act;
    uint16_t cin, cout, in_h, in_w, out_h, out_w;
    int8_t in_zp, out_zp;
    uint16_t group, phases, taps, chunk_groups, chunk_phases, n_chunks;
    uint32_t param_offset, param_size, chunk_offset, chunk_bytes, chunk_stride;
} tg_layer;

typedef struct {
    uint32_t file_size;
    uint16_t n_layers, latent_dim, latent_inv_scale, out_h, out_w, out_c;
    char name[33];
    tg_layer layers[TG_MAX_LAYERS];
} tg_model;

typedef struct {
    uint32_t bytes_read;  /* parameter block + chunks, padding included */
    uint32_t wait_us;     /* time blocked waiting for data */
    uint32_t check_us;    /* time checking chunk CRCs (on the CH32H417 the I/O core's job) */
    uint32_t compute_us;  /* time in the kernels */
    uint64_t macs;        /* useful multiply-accumulates */
} tg_layer_stats;

/* Optional hooks. progress() is called after each chunk; returning non-zero cancels.
 * now_us() is a monotonic microsecond clock used for the stats (NULL: times are 0). */
typedef struct {
    int (*progress)(void *ctx, int layer, int chunk, int n_chunks);
    void *progress_ctx;
    uint32_t (*now_us)(void *ctx);
    void *clock_ctx;
} tg_hooks;

/* Reads and validates the header (layout, shapes, offsets) exactly as the Python reader does.
 * Uses 512 bytes of stack; no other memory. */
tg_status tg_open(tg_model *m, const tg_source *src, tg_error *err);

/* Bytes of arena tg_generate and tg_check need for this model: the largest step of the plan in
 * tg_plan.c (activations in and out, two chunk buffers, parameter blocks, and for the step that
 * carries the fused last layer its resident weights and int32 sums). */
size_t tg_arena_size(const tg_model *m);

/* Reads every parameter block through the arena and validates it (CRC, padding, value ranges);
 * with check_chunks also every chunk's CRC (a full-file verification, as the Python reader does). */
tg_status tg_check(const tg_model *m, const tg_source *src, uint8_t *arena, size_t arena_size, int check_chunks,
                   tg_error *err);

/* latent: latent_dim int8 values. image: out_h*out_w*out_c bytes, HWC RGB; only the last layer
 * writes it, so on an error in an earlier layer it is untouched (callers must still treat it as
 * undefined on any error). stats: n_layers entries or NULL. */
tg_status tg_generate(const tg_model *m, const tg_source *src, const int8_t *latent, uint8_t *image,
                      uint8_t *arena, size_t arena_size, const tg_hooks *hooks, tg_layer_stats *stats,
                      tg_error *err);

/* Useful MACs of a layer (taps landing inside the input; real channels). */
uint64_t tg_layer_macs(const tg_layer *l);

uint32_t tg_crc32(uint32_t crc, const void *data, size_t len);

#endif
