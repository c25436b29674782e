/* The streaming executor: per layer, load the parameter block, then stream the weight chunks
 * through two buffers (chunk i+1 is read while chunk i is computed when the source is
 * asynchronous), check each chunk's CRC before any of it is used, and run the kernel on it. */
#include <string.h>

#include "tg_kernels.h"
#include "tg_plan.h"
#include "tg_util.h"

static tg_status check_arena(const tg_model *m, const uint8_t *arena, size_t size, tg_error *err)
{
    if (!arena || size < tg_arena_size(m))
        return tg_fail(err, TG_ERR_ARENA, -1, -1, "arena: ", TG_U(size), " bytes, the model needs ",
                       TG_U(tg_arena_size(m)), TG_END);
    if ((uintptr_t)arena & 3u)
        return tg_fail(err, TG_ERR_ARENA, -1, -1, "arena: must be 4-byte aligned", TG_END);
    return TG_OK;
}

/* Where one layer's parameter block and weight chunks go. */
typedef struct {
    uint8_t *params;
    uint8_t *chunk[2]; /* the double buffer, or */
    uint8_t *resident; /* non-NULL: chunk c is read to resident + c * chunk_stride and stays there */
} layer_bufs;

static uint8_t *chunk_dst(const tg_layer *l, const layer_bufs *b, int c)
{
    return b->resident ? b->resident + (uint32_t)c * l->chunk_stride : b->chunk[c & 1];
}

/* The buffers of a step's own layer, or (fused_last) of the last layer it carries. */
static layer_bufs step_bufs(const tg_step *step, int fused_last)
{
    layer_bufs b = {NULL, {NULL, NULL}, NULL};
    if (fused_last) {
        b.params = step->last_params;
        b.resident = step->last_weights;
    } else {
        b.params = step->params;
        b.chunk[0] = step->chunk[0];
        b.chunk[1] = step->chunk[1];
    }
    return b;
}

/* Layer i's buffers in the plan: the fused last layer lives in the step before it. */
static layer_bufs plan_layer(const tg_model *m, int i, uint8_t *arena, tg_step *step)
{
    int fused_last = tg_fuses_last(m) && i == m->n_layers - 1;
    tg_plan_step(m, fused_last ? i - 1 : i, arena, step);
    return step_bufs(step, fused_last);
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
    uint32_t padded = tg_pad_sector(l->param_size);
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

static tg_status stream_chunks(const tg_model *m, const tg_source *src, int i, const layer_bufs *b,
                               const tg_hooks *hooks, tg_layer_stats *st, chunk_fn fn, void *ctx, tg_error *err)
{
    const tg_layer *l = &m->layers[i];
    const int32_t *crc = chunk_crcs(l, b->params);
    const int async = src->start && src->wait;
    tg_status status = TG_OK;
    int pending = 0;
    layer_bufs own = *b;
    if (async && !own.resident && src->buffer[0] && src->buffer[1] && l->chunk_stride <= src->buffer_size) {
        own.chunk[0] = src->buffer[0]; /* the reader's own buffers (see tg_source) */
        own.chunk[1] = src->buffer[1];
    }
    b = &own;
    if (async) {
        if (src->start(src->ctx, l->chunk_offset, chunk_dst(l, b, 0), l->chunk_stride))
            return tg_fail(err, TG_ERR_IO, i, 0, "layer ", TG_I(i), " chunk 0: read failed", TG_END);
        pending = 1;
    }
    for (int c = 0; c < l->n_chunks; c++) {
        uint8_t *buf = chunk_dst(l, b, c);
        uint32_t t0 = now(hooks);
        int rc;
        if (async) {
            rc = src->wait(src->ctx);
            pending = 0;
            if (!rc && c + 1 < l->n_chunks) {
                /* the other buffer is free: its chunk was consumed in the previous iteration */
                rc = src->start(src->ctx, l->chunk_offset + (uint32_t)(c + 1) * l->chunk_stride, chunk_dst(l, b, c + 1),
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
        uint32_t got = async && src->last_crc ? src->last_crc(src->ctx) : tg_crc32(0, buf, l->chunk_stride);
        if (got != (uint32_t)crc[c]) {
            status = tg_fail(err, TG_ERR_CRC, i, c, "layer ", TG_I(i), " chunk ", TG_I(c),
                             ": CRC mismatch (weights corrupted or truncated read)", TG_END);
            break;
        }
        if ((status = tg_check_chunk(m, i, c, buf, (const int32_t *)(const void *)b->params, err)) != TG_OK)
            break;
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

/* The kernel-call description of layer i with its parameter block (converted by load_params). */
static void layer_io(const tg_layer *l, int i, const int8_t *latent, const uint8_t *params, tg_layer_io *io)
{
    const int32_t *p = (const int32_t *)(const void *)params;
    memset(io, 0, sizeof *io);
    io->latent = i == 0 ? latent : NULL;
    io->in_h = l->in_h;
    io->in_w = l->in_w;
    io->cin = io->w_cin = l->cin;
    io->cout = l->cout;
    io->out_h = l->out_h;
    io->out_w = l->out_w;
    io->act = l->act;
    io->out_zp = l->out_zp;
    io->bias = p;
    if (l->act == TG_ACT_REQUANT) {
        io->mult = p + l->cout;
        io->shift = p + 2 * l->cout;
    } else {
        io->thresholds = p + l->cout;
    }
}

static void run_kernel(const tg_layer *l, const tg_layer_io *io, int c, const int8_t *w)
{
    int phase_blocks = l->phases / l->chunk_phases;
    int g0 = (c / phase_blocks) * l->chunk_groups, p0 = (c % phase_blocks) * l->chunk_phases;
    if (l->kind == TG_KIND_K4S1P0)
        TG_KERNEL_FIRST(io, w, g0, l->chunk_groups, p0, l->chunk_phases);
    else
        TG_KERNEL_S2(io, w, g0, l->chunk_groups, p0, l->chunk_phases);
}

/* One step's state for the chunk callback. With the fused last layer, `io` writes one chunk's
 * channel groups into step->group_out; once all phases of those groups are done, `last` adds
 * their contribution to the image sums. */
typedef struct {
    const tg_model *m;
    const tg_step *step;
    const tg_hooks *hooks;
    const tg_layer *l;
    tg_layer_io io, last;
    uint32_t fused_us; /* time spent in the last layer (accounted to it, not to this layer) */
} step_ctx;

static void add_groups_to_sums(step_ctx *sc, int c)
{
    const tg_layer *l = sc->l, *z = &sc->m->layers[sc->m->n_layers - 1];
    int first_channel = (c / (l->phases / l->chunk_phases)) * l->chunk_groups * TG_GROUP;
    int end_channel = first_channel + l->chunk_groups * TG_GROUP;
    sc->last.ci0 = (uint16_t)first_channel;
    sc->last.cin = (uint16_t)((end_channel < l->cout ? end_channel : l->cout) - first_channel);
    for (int k = 0; k < z->n_chunks; k++)
        run_kernel(z, &sc->last, k, (const int8_t *)sc->step->last_weights + (uint32_t)k * z->chunk_stride);
}

static tg_status run_chunk(void *ctx, int c, const int8_t *w)
{
    step_ctx *sc = (step_ctx *)ctx;
    const tg_layer *l = sc->l;
    int phase_blocks = l->phases / l->chunk_phases;
    if (sc->step->sums && c % phase_blocks == 0) {
        /* new channel groups: their planes need the zero border, and out_c0 maps them to slot 0 */
        memset(sc->step->group_out, 0, tg_group_out_bytes(sc->m));
        sc->io.out_c0 = (uint16_t)((c / phase_blocks) * l->chunk_groups * TG_GROUP);
    }
    run_kernel(l, &sc->io, c, w);
    if (sc->step->sums && c % phase_blocks == phase_blocks - 1) {
        uint32_t t0 = now(sc->hooks);
        add_groups_to_sums(sc, c);
        sc->fused_us += now(sc->hooks) - t0;
    }
    return TG_OK;
}

/* Reads layer i's parameter block, accounting it to stats s. */
static tg_status load_layer_params(const tg_model *m, const tg_source *src, int i, uint8_t *buf, const tg_hooks *hooks,
                                   tg_layer_stats *s, tg_error *err)
{
    uint32_t t0 = now(hooks);
    tg_status st = load_params(m, src, i, buf, err);
    if (s) {
        s->wait_us += now(hooks) - t0;
        s->bytes_read += tg_pad_sector(m->layers[i].param_size);
        s->macs = tg_layer_macs(&m->layers[i]);
    }
    return st;
}

/* Loads the fused last layer (parameters, resident weights) and starts its sums at the bias. */
static tg_status prepare_last(const tg_model *m, const tg_source *src, const tg_step *step, const tg_hooks *hooks,
                              tg_layer_stats *s, step_ctx *sc, tg_error *err)
{
    int z = m->n_layers - 1;
    layer_bufs b = step_bufs(step, 1);
    tg_status st = load_layer_params(m, src, z, b.params, hooks, s, err);
    if (st == TG_OK)
        st = stream_chunks(m, src, z, &b, hooks, s, NULL, NULL, err);
    if (st)
        return st;
    const tg_layer *l = &m->layers[z];
    layer_io(l, z, NULL, step->last_params, &sc->last);
    sc->last.act = TG_IO_SUMS;
    sc->last.in = step->group_out;
    sc->last.sums = step->sums;
    sc->last.bias = NULL; /* added once here, not per channel group */
    const int32_t *bias = (const int32_t *)(const void *)step->last_params;
    uint32_t pixels = (uint32_t)l->out_h * l->out_w;
    for (uint32_t p = 0; p < pixels; p++)
        for (uint32_t c = 0; c < l->cout; c++)
            step->sums[p * l->cout + c] = bias[c];
    return TG_OK;
}

/* The fused last layer's output stage: image pixel = number of thresholds <= its sum. */
static void sums_to_image(const tg_layer *l, const int32_t *sums, const int32_t *thresholds, uint8_t *image)
{
    uint32_t n = (uint32_t)l->out_h * l->out_w * l->cout;
    for (uint32_t k = 0; k < n; k++)
        image[k] = tg_threshold(thresholds + (k % l->cout) * TG_N_THRESH, sums[k]);
}

tg_status tg_check(const tg_model *m, const tg_source *src, uint8_t *arena, size_t arena_size, int check_chunks,
                   tg_error *err)
{
    tg_status st = check_arena(m, arena, arena_size, err);
    for (int i = 0; st == TG_OK && i < m->n_layers; i++) {
        tg_step step;
        layer_bufs b = plan_layer(m, i, arena, &step);
        st = load_params(m, src, i, b.params, err);
        if (st == TG_OK && check_chunks)
            st = stream_chunks(m, src, i, &b, NULL, NULL, NULL, NULL, err);
    }
    return st;
}

tg_status tg_generate(const tg_model *m, const tg_source *src, const int8_t *latent, uint8_t *image,
                      uint8_t *arena, size_t arena_size, const tg_hooks *hooks, tg_layer_stats *stats,
                      tg_error *err)
{
    if (!latent || !image)
        return tg_fail(err, TG_ERR_ARG, -1, -1, "latent and image buffers are required", TG_END);
    tg_status st = check_arena(m, arena, arena_size, err);
    if (st)
        return st;
    if (stats)
        memset(stats, 0, sizeof *stats * m->n_layers);
    for (int s = 0; s < tg_n_steps(m); s++) {
        tg_step step;
        tg_plan_step(m, s, arena, &step);
        const tg_layer *l = &m->layers[s];
        tg_layer_stats *ls = stats ? &stats[s] : NULL, *zs = stats && step.sums ? &stats[step.last] : NULL;
        step_ctx sc;
        memset(&sc, 0, sizeof sc);
        sc.m = m;
        sc.step = &step;
        sc.hooks = hooks;
        sc.l = l;
        if (step.sums && (st = prepare_last(m, src, &step, hooks, zs, &sc, err)) != TG_OK)
            return st;
        layer_bufs b = step_bufs(&step, 0);
        if ((st = load_layer_params(m, src, s, b.params, hooks, ls, err)) != TG_OK)
            return st;
        layer_io(l, s, latent, step.params, &sc.io);
        sc.io.in = step.in;
        if (step.sums) {
            sc.io.out = step.group_out;
        } else if (step.out) {
            /* the zero border of the padded planes stands for taps outside the input */
            sc.io.out = step.out;
            memset(step.out, 0, tg_act_bytes(m, s));
        } else {
            sc.io.out = image; /* a one-layer model */
        }
        if ((st = stream_chunks(m, src, s, &b, hooks, ls, run_chunk, &sc, err)) != TG_OK)
            return st;
        if (step.sums) {
            uint32_t t0 = now(hooks);
            sums_to_image(&m->layers[step.last], step.sums, sc.last.thresholds, image);
            if (ls) { /* the last layer's kernel time ran inside this layer's chunk callbacks */
                ls->compute_us -= sc.fused_us;
                zs->compute_us += sc.fused_us + (now(hooks) - t0);
            }
        }
    }
    return TG_OK;
}
