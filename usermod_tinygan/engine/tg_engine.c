/* The streaming executor: per layer, load the parameter block, then stream the weight chunks
 * through two buffers (chunk i+1 is read while chunk i is computed when the source is
 * asynchronous), check each chunk's CRC before any of it is used, and run the kernel on it. */
#include <string.h>

#include "tg_kernels.h"
#include "tg_util.h"

typedef struct {
    uint8_t *act[2];   /* A, B */
    uint8_t *chunk[2];
    uint8_t *params;
} arena_map;

static tg_status map_arena(const tg_model *m, uint8_t *arena, size_t size, arena_map *a, tg_error *err)
{
    if (!arena || size < tg_arena_size(m))
        return tg_fail(err, TG_ERR_ARENA, -1, -1, "arena: ", TG_U(size), " bytes, the model needs ",
                       TG_U(tg_arena_size(m)), TG_END);
    if ((uintptr_t)arena & 3u)
        return tg_fail(err, TG_ERR_ARENA, -1, -1, "arena: must be 4-byte aligned", TG_END);
    uint8_t *p = arena;
    a->act[0] = p;
    p += tg_align4(m->act_a_bytes);
    a->act[1] = p;
    p += tg_align4(m->act_b_bytes);
    a->chunk[0] = p;
    p += tg_align4(m->chunk_buf_bytes);
    a->chunk[1] = p;
    p += tg_align4(m->chunk_buf_bytes);
    a->params = p;
    return TG_OK;
}

static uint32_t now(const tg_hooks *h) { return h && h->now_us ? h->now_us(h->clock_ctx) : 0; }

static int32_t le32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24));
}

/* Read and validate layer i's parameter block into buf (int32 little-endian fields are converted
 * in place to native order, so kernels index them directly). */
static tg_status load_params(const tg_model *m, const tg_source *src, int i, uint8_t *buf, tg_error *err)
{
    const tg_layer *l = &m->layers[i];
    uint32_t padded = (l->param_size + TG_SECTOR - 1) / TG_SECTOR * TG_SECTOR;
    if (src->read(src->ctx, l->param_offset, buf, padded))
        return tg_fail(err, TG_ERR_IO, i, -1, "layer ", TG_I(i), " params: read failed", TG_END);
    uint32_t n = l->param_size / 4u;
    if (tg_crc32(0, buf, l->param_size - 4u) != (uint32_t)le32(buf + l->param_size - 4u))
        return tg_fail(err, TG_ERR_CRC, i, -1, "layer ", TG_I(i), " params: param_crc mismatch (parameter block corrupted)", TG_END);
    for (uint32_t k = l->param_size; k < padded; k++)
        if (buf[k])
            return tg_fail(err, TG_ERR_FORMAT, i, -1, "layer ", TG_I(i), " params: padding not zero", TG_END);
    int32_t *v = (int32_t *)(void *)buf;
    for (uint32_t k = 0; k < n; k++)
        v[k] = le32(buf + 4u * k);
    const int32_t *p = v + l->cout;
    if (l->act == TG_ACT_THRESHOLD) {
        for (uint32_t c = 0; c < l->cout; c++)
            for (int k = 1; k < TG_N_THRESH; k++)
                if (p[c * TG_N_THRESH + (uint32_t)k] < p[c * TG_N_THRESH + (uint32_t)k - 1])
                    return tg_fail(err, TG_ERR_PARAM, i, -1, "layer ", TG_I(i), " params: thresholds of channel ",
                                   TG_U(c), " decrease", TG_END);
    } else {
        for (uint32_t c = 0; c < l->cout; c++) {
            int32_t mult = p[c], shift = p[l->cout + c];
            if (shift < -31 || shift > 30)
                return tg_fail(err, TG_ERR_PARAM, i, -1, "layer ", TG_I(i), " params: shift[", TG_U(c), "] = ",
                               TG_I(shift), " outside -31..30", TG_END);
            if (!(mult >= (1 << 30) || (mult == 0 && shift == 0)))
                return tg_fail(err, TG_ERR_PARAM, i, -1, "layer ", TG_I(i), " params: mult[", TG_U(c), "] = ",
                               TG_I(mult), " outside [2^30, 2^31)", TG_END);
        }
    }
    return TG_OK;
}

static const int32_t *chunk_crcs(const tg_layer *l, const uint8_t *params)
{
    uint32_t per_channel = l->act == TG_ACT_THRESHOLD ? 1 + TG_N_THRESH : 3;
    return (const int32_t *)(const void *)params + (uint32_t)l->cout * per_channel;
}

/* Streams layer i's chunks; calls compute(chunk index, data) for each verified chunk. */
typedef tg_status (*chunk_fn)(void *ctx, int c, const int8_t *w);

static tg_status stream_chunks(const tg_model *m, const tg_source *src, int i, const arena_map *a,
                               const tg_hooks *hooks, tg_layer_stats *st, chunk_fn fn, void *ctx, tg_error *err)
{
    const tg_layer *l = &m->layers[i];
    const int32_t *crc = chunk_crcs(l, a->params);
    const int async = src->start && src->wait;
    tg_status status = TG_OK;
    int pending = 0;
    if (async) {
        if (src->start(src->ctx, l->chunk_offset, a->chunk[0], l->chunk_stride))
            return tg_fail(err, TG_ERR_IO, i, 0, "layer ", TG_I(i), " chunk 0: read failed", TG_END);
        pending = 1;
    }
    for (int c = 0; c < l->n_chunks; c++) {
        uint8_t *buf = a->chunk[c & 1];
        uint32_t t0 = now(hooks);
        int rc;
        if (async) {
            rc = src->wait(src->ctx);
            pending = 0;
            if (!rc && c + 1 < l->n_chunks) {
                /* the other buffer is free: its chunk was consumed in the previous iteration */
                rc = src->start(src->ctx, l->chunk_offset + (uint32_t)(c + 1) * l->chunk_stride, a->chunk[(c + 1) & 1],
                                l->chunk_stride);
                pending = !rc;
            }
        } else {
            rc = src->read(src->ctx, l->chunk_offset + (uint32_t)c * l->chunk_stride, buf, l->chunk_stride);
        }
        uint32_t t1 = now(hooks);
        if (st) {
            st->wait_us += t1 - t0;
            st->bytes_read += l->chunk_stride;
        }
        if (rc) {
            status = tg_fail(err, TG_ERR_IO, i, c, "layer ", TG_I(i), " chunk ", TG_I(c), ": read failed (truncated or removed card?)", TG_END);
            break;
        }
        if (tg_crc32(0, buf, l->chunk_stride) != (uint32_t)crc[c]) {
            status = tg_fail(err, TG_ERR_CRC, i, c, "layer ", TG_I(i), " chunk ", TG_I(c),
                             ": CRC mismatch (weights corrupted or truncated read)", TG_END);
            break;
        }
        uint32_t t2 = now(hooks);
        if (fn && (status = fn(ctx, c, (const int8_t *)buf)) != TG_OK)
            break;
        if (st) {
            st->check_us += t2 - t1;
            st->compute_us += now(hooks) - t2;
        }
        if (hooks && hooks->progress && hooks->progress(hooks->progress_ctx, i, c, l->n_chunks)) {
            status = tg_fail(err, TG_ERR_CANCELLED, i, c, "cancelled at layer ", TG_I(i), " chunk ", TG_I(c), TG_END);
            break;
        }
    }
    if (pending)
        src->wait(src->ctx); /* never leave a read in flight into the caller's arena */
    return status;
}

typedef struct {
    const tg_layer *l;
    tg_layer_io io;
} layer_ctx;

static tg_status run_chunk(void *ctx, int c, const int8_t *w)
{
    layer_ctx *lc = (layer_ctx *)ctx;
    const tg_layer *l = lc->l;
    int phase_blocks = l->phases / l->chunk_phases;
    int g0 = (c / phase_blocks) * l->chunk_groups, p0 = (c % phase_blocks) * l->chunk_phases;
    if (l->kind == TG_KIND_K4S1P0)
        TG_KERNEL_FIRST(&lc->io, w, g0, l->chunk_groups, p0, l->chunk_phases);
    else
        TG_KERNEL_S2(&lc->io, w, g0, l->chunk_groups, p0, l->chunk_phases);
    return TG_OK;
}

tg_status tg_check(const tg_model *m, const tg_source *src, uint8_t *arena, size_t arena_size, int check_chunks,
                   tg_error *err)
{
    arena_map a;
    tg_status st = map_arena(m, arena, arena_size, &a, err);
    for (int i = 0; st == TG_OK && i < m->n_layers; i++) {
        st = load_params(m, src, i, a.params, err);
        if (st == TG_OK && check_chunks)
            st = stream_chunks(m, src, i, &a, NULL, NULL, NULL, NULL, err);
    }
    return st;
}

tg_status tg_generate(const tg_model *m, const tg_source *src, const int8_t *latent, uint8_t *image,
                      uint8_t *arena, size_t arena_size, const tg_hooks *hooks, tg_layer_stats *stats,
                      tg_error *err)
{
    arena_map a;
    if (!latent || !image)
        return tg_fail(err, TG_ERR_ARG, -1, -1, "latent and image buffers are required", TG_END);
    tg_status st = map_arena(m, arena, arena_size, &a, err);
    if (st)
        return st;
    if (stats)
        memset(stats, 0, sizeof *stats * m->n_layers);
    for (int i = 0; i < m->n_layers; i++) {
        const tg_layer *l = &m->layers[i];
        tg_layer_stats *s = stats ? &stats[i] : NULL;
        uint32_t t0 = now(hooks);
        st = load_params(m, src, i, a.params, err);
        if (st)
            return st;
        if (s) {
            s->wait_us += now(hooks) - t0;
            s->bytes_read += (l->param_size + TG_SECTOR - 1) / TG_SECTOR * TG_SECTOR;
            s->macs = tg_layer_macs(l);
        }
        const int32_t *p = (const int32_t *)(const void *)a.params;
        layer_ctx lc;
        memset(&lc, 0, sizeof lc);
        lc.l = l;
        lc.io.in = i ? a.act[(i - 1) & 1] : NULL;
        lc.io.latent = latent;
        lc.io.in_h = l->in_h;
        lc.io.in_w = l->in_w;
        lc.io.cin = l->cin;
        lc.io.cout = l->cout;
        lc.io.out_h = l->out_h;
        lc.io.out_w = l->out_w;
        lc.io.act = l->act;
        lc.io.out_zp = l->out_zp;
        lc.io.bias = p;
        if (l->act == TG_ACT_REQUANT) {
            lc.io.mult = p + l->cout;
            lc.io.shift = p + 2 * l->cout;
        } else {
            lc.io.thresholds = p + l->cout;
        }
        if (i == m->n_layers - 1) {
            lc.io.out = image;
        } else {
            /* the zero border of the padded planes stands for taps outside the input */
            lc.io.out = a.act[i & 1];
            memset(lc.io.out, 0, (size_t)(l->out_h + 2u) * (l->out_w + 2u) * l->cout);
        }
        st = stream_chunks(m, src, i, &a, hooks, s, run_chunk, &lc, err);
        if (st)
            return st;
    }
    return TG_OK;
}
