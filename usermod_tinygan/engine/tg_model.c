/* Weight-file header reader and validator: steps 1-4 of the checks of docs/weight-format.md, in
 * its order, with the same verdicts as the Python reader (tinygan/tgw.py); step 5 (parameter
 * blocks) is in tg_engine.c, step 6 (chunks) in tg_engine.c and tg_chunk.c. Messages name what
 * failed. */
#include <string.h>

#include "tg_engine.h"
#include "tg_util.h"

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}


static const uint8_t MAGIC[8] = {'T', 'I', 'N', 'Y', 'G', 'A', 'N', 'W'};

uint32_t tg_param_size(const tg_layer *l)
{
    uint32_t per_channel = l->act == TG_ACT_THRESHOLD ? 1 + TG_N_THRESH : 3;
    return 4u * ((uint32_t)l->cout * per_channel + l->n_chunks + 1);
}

uint64_t tg_layer_macs(const tg_layer *l)
{
    uint64_t c = (uint64_t)l->cin * l->cout;
    if (l->kind == TG_KIND_K4S1P0)
        return c * 16u;
    return (uint64_t)(4u * l->in_h - 2u) * (4u * l->in_w - 2u) * c;
}

static void parse_layer(tg_layer *l, const uint8_t *d)
{
    l->kind = d[0];
    l->act = d[1];
    l->cin = rd16(d + 2);
    l->cout = rd16(d + 4);
    l->in_h = rd16(d + 6);
    l->in_w = rd16(d + 8);
    l->out_h = rd16(d + 10);
    l->out_w = rd16(d + 12);
    l->in_zp = (int8_t)d[14];
    l->out_zp = (int8_t)d[15];
    l->group = rd16(d + 16);
    l->phases = rd16(d + 18);
    l->taps = rd16(d + 20);
    l->chunk_groups = rd16(d + 22);
    l->chunk_phases = rd16(d + 24);
    l->n_chunks = rd16(d + 26);
    l->param_offset = rd32(d + 28);
    l->param_size = rd32(d + 32);
    l->chunk_offset = rd32(d + 36);
    l->chunk_bytes = rd32(d + 40);
    l->chunk_stride = rd32(d + 44);
}

static int all_zero(const uint8_t *p, size_t n)
{
    while (n--)
        if (*p++)
            return 0;
    return 1;
}

#define FAIL(code, layer, chunk, ...) return tg_fail(err, code, layer, chunk, __VA_ARGS__)

static tg_status check_layer(const tg_model *m, int i, tg_error *err)
{
    const tg_layer *l = &m->layers[i];
    const tg_layer *prev = i ? &m->layers[i - 1] : NULL;
    int last = i == m->n_layers - 1;
    if (l->kind != TG_KIND_K4S1P0 && l->kind != TG_KIND_K4S2P1)
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": kind ", TG_I(l->kind), " unknown", TG_END);
    if (l->act != TG_ACT_REQUANT && l->act != TG_ACT_THRESHOLD)
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": act ", TG_I(l->act), " unknown", TG_END);
    if (l->act != (last ? TG_ACT_THRESHOLD : TG_ACT_REQUANT))
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": act (the last layer is threshold, others requant)", TG_END);
    if (!prev && l->kind != TG_KIND_K4S1P0)
        FAIL(TG_ERR_FORMAT, i, -1, "layer 0: kind must be convt_k4s1p0 (the first layer takes the 1x1 latent)", TG_END);
    if (!prev) {
        if (l->cin != m->latent_dim)
            FAIL(TG_ERR_FORMAT, i, -1, "layer 0: cin ", TG_I(l->cin), " != latent_dim ", TG_I(m->latent_dim), TG_END);
        if (l->in_h != 1 || l->in_w != 1)
            FAIL(TG_ERR_FORMAT, i, -1, "layer 0: in_h/in_w must be 1x1", TG_END);
        if (l->in_zp != 0)
            FAIL(TG_ERR_FORMAT, i, -1, "layer 0: in_zp (the latent has zero point 0)", TG_END);
    } else if (l->cin != prev->cout || l->in_h != prev->out_h || l->in_w != prev->out_w || l->in_zp != prev->out_zp) {
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": cin/in_h/in_w/in_zp do not chain from layer ", TG_I(i - 1), TG_END);
    }
    if (!l->cin || !l->cout || !l->in_h || !l->in_w)
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": zero-sized shape", TG_END);
    if (l->kind == TG_KIND_K4S1P0) {
        if (l->in_h != 1 || l->in_w != 1)
            FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": kind convt_k4s1p0 needs a 1x1 input", TG_END);
        if (l->out_h != 4 || l->out_w != 4)
            FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": out_h/out_w (expected 4x4)", TG_END);
    } else if (l->out_h != 2u * l->in_h || l->out_w != 2u * l->in_w) {
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": out_h/out_w (expected twice the input)", TG_END);
    }
    if (last && (l->out_h != m->out_h || l->out_w != m->out_w || l->cout != m->out_c))
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": output != header out_h/out_w/out_c", TG_END);
    if (last && l->out_zp != 0)
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": out_zp (threshold layer needs 0)", TG_END);
    if (!last && l->out_zp != -128)
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": out_zp (requant layers are ReLU with -128)", TG_END);
    if (l->group != TG_GROUP)
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": group ", TG_I(l->group), " (must be 4)", TG_END);
    uint16_t phases = l->kind == TG_KIND_K4S1P0 ? 16 : 4, taps = l->kind == TG_KIND_K4S1P0 ? 1 : 4;
    if (l->phases != phases)
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": phases ", TG_I(l->phases), TG_END);
    if (l->taps != taps)
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": taps ", TG_I(l->taps), TG_END);
    uint32_t ngroups = ((uint32_t)l->cout + TG_GROUP - 1) / TG_GROUP;
    if (!l->chunk_groups || ngroups % l->chunk_groups)
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": chunk_groups ", TG_I(l->chunk_groups), " does not divide the channel groups", TG_END);
    if (!l->chunk_phases || phases % l->chunk_phases)
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": chunk_phases ", TG_I(l->chunk_phases), " does not divide the phases", TG_END);
    if (l->n_chunks != (ngroups / l->chunk_groups) * (phases / l->chunk_phases))
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": n_chunks ", TG_I(l->n_chunks), TG_END);
    uint32_t chunk_bytes = (uint32_t)l->chunk_groups * l->chunk_phases * l->cin * taps * TG_GROUP;
    if (l->chunk_bytes != chunk_bytes)
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": chunk_bytes ", TG_U(l->chunk_bytes), TG_END);
    if (l->chunk_stride != tg_pad_sector(chunk_bytes))
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": chunk_stride ", TG_U(l->chunk_stride), TG_END);
    if (l->param_size != tg_param_size(l))
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": param_size ", TG_U(l->param_size), TG_END);
    uint32_t want_param = prev ? prev->chunk_offset + (uint32_t)prev->n_chunks * prev->chunk_stride : TG_HEADER_SIZE;
    if (l->param_offset != want_param)
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": param_offset ", TG_U(l->param_offset), " (sections are contiguous)", TG_END);
    if (l->chunk_offset != l->param_offset + tg_pad_sector(l->param_size))
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": chunk_offset ", TG_U(l->chunk_offset), TG_END);
    uint64_t end = (uint64_t)l->chunk_offset + (uint64_t)l->n_chunks * l->chunk_stride;
    if (end > m->file_size || (last && end != m->file_size))
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": chunks end at ", TG_U((uint32_t)end), ", file_size is ", TG_U(m->file_size), TG_END);
    return TG_OK;
}

/* The descriptor's f32 scales, judged on their bits (the reader does no float arithmetic): real
 * scales are finite and > 0 (sign clear, exponent not all ones, not zero), a layer's in_scale is
 * the previous layer's out_scale, and a THRESHOLD layer's out_scale is 0 (+0 or -0). */
static int positive_finite(uint32_t bits) { return !(bits >> 31) && ((bits >> 23) & 0xFFu) != 0xFFu && bits; }

static tg_status check_scales(const tg_model *m, int i, const uint8_t *d, tg_error *err)
{
    uint32_t in_scale = rd32(d + 48), out_scale = rd32(d + 52);
    if (!positive_finite(in_scale))
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": in_scale must be finite and > 0", TG_END);
    if (i && in_scale != rd32(d - 64 + 52))
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": in_scale differs from layer ", TG_I(i - 1), " out_scale", TG_END);
    if (i == m->n_layers - 1) {
        if (out_scale & 0x7FFFFFFFu)
            FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": out_scale must be 0 (threshold layer)", TG_END);
    } else if (!positive_finite(out_scale)) {
        FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": out_scale must be finite and > 0 (requant layer)", TG_END);
    }
    return TG_OK;
}

/* Strict UTF-8 (Unicode 15, table 3-7: no overlong forms, no surrogates, nothing past U+10FFFF),
 * the same verdict as Python's bytes.decode("utf-8"). */
static int valid_utf8(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t len;
        uint8_t lo = 0x80, hi = 0xBF; /* the allowed range of the second byte */
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            return 0;
        }
        if (i + len > n || s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return 0;
        i += len;
    }
    return 1;
}

/* The header fields beside the layers: even latent, non-zero inverse scale, RGB, the name. */
static tg_status check_header_fields(const tg_model *m, const uint8_t *h, tg_error *err)
{
    if (m->latent_dim % 2u)
        FAIL(TG_ERR_FORMAT, -1, -1, "latent_dim: ", TG_I(m->latent_dim),
             " is odd (the latent is made of Box-Muller pairs, so latent_dim must be even)", TG_END);
    if (!m->latent_inv_scale)
        FAIL(TG_ERR_FORMAT, -1, -1, "latent_inv_scale: 0 (must be 1..65535)", TG_END);
    if (m->out_c != 3)
        FAIL(TG_ERR_FORMAT, -1, -1, "out_c: ", TG_I(m->out_c), " (the image is RGB: 3)", TG_END);
    size_t len = strlen(m->name);
    if (!all_zero(h + 32 + len, 32 - len))
        FAIL(TG_ERR_FORMAT, -1, -1, "name: bytes after the terminating NUL must be zero", TG_END);
    if (!valid_utf8((const uint8_t *)m->name, len))
        FAIL(TG_ERR_FORMAT, -1, -1, "name: not valid UTF-8", TG_END);
    return TG_OK;
}

tg_status tg_open(tg_model *m, const tg_source *src, tg_error *err)
{
    uint8_t h[TG_HEADER_SIZE];
    memset(m, 0, sizeof *m);
    if (!src || !src->read)
        FAIL(TG_ERR_ARG, -1, -1, "no source", TG_END);
    if (src->size < TG_HEADER_SIZE)
        FAIL(TG_ERR_FORMAT, -1, -1, "truncated: ", TG_U(src->size), " bytes, the header alone is 512", TG_END);
    if (src->read(src->ctx, 0, h, TG_HEADER_SIZE))
        FAIL(TG_ERR_IO, -1, -1, "header: read failed", TG_END);
    if (memcmp(h, MAGIC, 8))
        FAIL(TG_ERR_FORMAT, -1, -1, "magic: not a tinygan weight file", TG_END);
    if (rd16(h + 8) != 1)
        FAIL(TG_ERR_FORMAT, -1, -1, "version: ", TG_I(rd16(h + 8)), " not supported (this reader knows 1)", TG_END);
    if (rd16(h + 10) != TG_HEADER_SIZE)
        FAIL(TG_ERR_FORMAT, -1, -1, "header_size: ", TG_I(rd16(h + 10)), TG_END);
    if (tg_crc32(0, h, TG_HEADER_SIZE - 4) != rd32(h + TG_HEADER_SIZE - 4))
        FAIL(TG_ERR_CRC, -1, -1, "header_crc: mismatch (header corrupted)", TG_END);
    if (rd32(h + 28))
        FAIL(TG_ERR_FORMAT, -1, -1, "flags: reserved, must be 0", TG_END);
    m->file_size = rd32(h + 12);
    if (src->size < m->file_size)
        FAIL(TG_ERR_FORMAT, -1, -1, "truncated: file has ", TG_U(src->size), " bytes, header says file_size ", TG_U(m->file_size), TG_END);
    if (src->size != m->file_size)
        FAIL(TG_ERR_FORMAT, -1, -1, "trailing bytes: file has ", TG_U(src->size), " bytes, header says file_size ", TG_U(m->file_size), TG_END);
    m->n_layers = rd16(h + 16);
    m->latent_dim = rd16(h + 18);
    m->latent_inv_scale = rd16(h + 20);
    m->out_h = rd16(h + 22);
    m->out_w = rd16(h + 24);
    m->out_c = rd16(h + 26);
    memcpy(m->name, h + 32, 32);
    m->name[32] = 0;
    if (m->n_layers < 1 || m->n_layers > TG_MAX_LAYERS)
        FAIL(TG_ERR_FORMAT, -1, -1, "n_layers: ", TG_I(m->n_layers), " (must be 1..6)", TG_END);
    if (!all_zero(h + 64 + 64u * m->n_layers, TG_HEADER_SIZE - 4 - 64 - 64u * m->n_layers))
        FAIL(TG_ERR_FORMAT, -1, -1, "reserved header bytes: not zero", TG_END);
    tg_status st = check_header_fields(m, h, err);
    if (st)
        return st;
    for (int i = 0; i < m->n_layers; i++) {
        const uint8_t *d = h + 64 + 64 * i;
        parse_layer(&m->layers[i], d);
        if (!all_zero(d + 56, 8))
            FAIL(TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), ": reserved descriptor bytes not zero", TG_END);
        if ((st = check_layer(m, i, err)) != TG_OK || (st = check_scales(m, i, d, err)) != TG_OK)
            return st;
    }
    return TG_OK;
}
