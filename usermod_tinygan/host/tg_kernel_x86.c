/* The host's k4 s2 p1 kernel: AVX-512 VNNI (vpdpbusd: 16 lanes x 4 uint8*int8 products into
 * int32), chosen at run time, falling back to the portable tg_kernel_s2_fast. Built only into the
 * CPython extension (setup.py names it with -DTG_KERNEL_S2); the engine stays plain C99.
 *
 * A lane is one input position of the padded plane (flat index f = (my+1)*pitch + mx+1) and its
 * 4 bytes are the 4 taps that output phase reads for it: [row my: own column, dx column,
 * row my+dy: own column, dx column] (docs/weight-format.md, Packing). So one vpdpbusd per input
 * channel adds all 4 taps of 16 positions for one output channel, with that channel's 4 tap
 * weights broadcast. Border and past-the-end lanes are computed and discarded; loads are masked
 * to the input plane so nothing outside it is read. Products and sums are exact int32, so the
 * result equals the plain kernel's bit for bit.
 */
#include "tg_kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,avx512vnni")))
#define VECTORS 4 /* 16-position vectors sharing each weight broadcast */

static const int8_t D_TAP[2][2] = {{0, -1}, {0, 1}};

/* Bytes [start, start+32) of a plane of `plane` bytes (0 <= start), zero past its end: a masked
 * load reads no byte whose mask bit is clear. */
VNNI_TARGET static inline __m256i load_row(const uint8_t *plane_base, int32_t start, int32_t plane)
{
    int32_t valid = plane - start;
    if (valid <= 0)
        return _mm256_setzero_si256();
    __mmask32 mask = valid >= 32 ? 0xffffffffu : (1u << valid) - 1u;
    return _mm256_maskz_loadu_epi8(mask, plane_base + start);
}

VNNI_TARGET static void phase_vnni(const tg_layer_io *io, const int8_t *ws, int py, int px, int co0)
{
    const int32_t pitch = (int32_t)tg_pitch(io->in_w), plane = (int32_t)tg_plane(io->in_h, io->in_w);
    const int dy = D_TAP[py][1], dx = D_TAP[px][1];
    const int32_t first = pitch + 1, last = io->in_h * pitch + io->in_w; /* interior flat range */
    const int32_t shift0 = dx < 0 ? -1 : 0;                              /* window starts at the left tap */
    /* byte 4k+t of a lane takes window byte: row0 own/dx column, row1 (bytes 32..) own/dx column */
    uint8_t idx_bytes[64];
    for (int k = 0; k < 16; k++) {
        int own = k - shift0, side = own + dx;
        idx_bytes[4 * k + 0] = (uint8_t)own;
        idx_bytes[4 * k + 1] = (uint8_t)side;
        idx_bytes[4 * k + 2] = (uint8_t)(32 + own);
        idx_bytes[4 * k + 3] = (uint8_t)(32 + side);
    }
    const __m512i idx = _mm512_loadu_si512(idx_bytes);
    /* weights of one input channel are [tap][channel]; lanes want [channel][tap] */
    const __m128i transpose = _mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    int32_t bias[4];
    tg_init_bias(io, co0, bias);

    for (int32_t f0 = first; f0 <= last; f0 += 16 * VECTORS) {
        __m512i acc[VECTORS][4];
        for (int v = 0; v < VECTORS; v++)
            for (int j = 0; j < 4; j++)
                acc[v][j] = _mm512_setzero_si512();
        const uint8_t *x = io->in;
        const int8_t *wt = ws;
        for (int ci = 0; ci < io->cin; ci++, x += plane, wt += 16) {
            __m128i w4 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)wt), transpose);
            __m512i b0 = _mm512_broadcastd_epi32(w4);
            __m512i b1 = _mm512_broadcastd_epi32(_mm_shuffle_epi32(w4, 0x55));
            __m512i b2 = _mm512_broadcastd_epi32(_mm_shuffle_epi32(w4, 0xaa));
            __m512i b3 = _mm512_broadcastd_epi32(_mm_shuffle_epi32(w4, 0xff));
            for (int v = 0; v < VECTORS; v++) {
                int32_t s0 = f0 + 16 * v + shift0;
                __m256i r0 = load_row(x, s0, plane), r1 = load_row(x, s0 + dy * pitch, plane);
                __m512i a = _mm512_permutexvar_epi8(idx, _mm512_inserti64x4(_mm512_castsi256_si512(r0), r1, 1));
                acc[v][0] = _mm512_dpbusd_epi32(acc[v][0], a, b0);
                acc[v][1] = _mm512_dpbusd_epi32(acc[v][1], a, b1);
                acc[v][2] = _mm512_dpbusd_epi32(acc[v][2], a, b2);
                acc[v][3] = _mm512_dpbusd_epi32(acc[v][3], a, b3);
            }
        }
        for (int v = 0; v < VECTORS; v++) {
            int32_t sums[4][16];
            for (int j = 0; j < 4; j++)
                _mm512_storeu_si512(sums[j], acc[v][j]);
            for (int k = 0; k < 16; k++) {
                int32_t f = f0 + 16 * v + k, my = f / pitch - 1, mx = f % pitch - 1;
                if (f > last || mx < 0 || mx >= io->in_w)
                    continue; /* a border or past-the-end lane */
                int32_t out[4] = {bias[0] + sums[0][k], bias[1] + sums[1][k], bias[2] + sums[2][k], bias[3] + sums[3][k]};
                tg_store4(io, 2 * my + py, 2 * mx + px, co0, out);
            }
        }
    }
}

int tg_kernel_x86_has_vnni(void)
{
    static int have = -1;
    if (have < 0) {
        __builtin_cpu_init();
        have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vbmi") &&
               __builtin_cpu_supports("avx512vnni");
    }
    return have;
}

/* Set by the binding's _engine.use_portable_kernel() so benchmarks can time both in one run. */
int tg_kernel_x86_portable;

void tg_kernel_s2_x86(const tg_layer_io *io, const int8_t *w, int g0, int ng, int p0, int np)
{
    if (tg_kernel_x86_portable || !tg_kernel_x86_has_vnni()) {
        tg_kernel_s2_fast(io, w, g0, ng, p0, np);
        return;
    }
    for (int gi = 0; gi < ng; gi++)
        for (int pi = 0; pi < np; pi++) {
            int ph = p0 + pi;
            phase_vnni(io, tg_slab(io, w, gi, pi, np, 4), ph >> 1, ph & 1, (g0 + gi) * TG_GROUP);
        }
}

#endif
