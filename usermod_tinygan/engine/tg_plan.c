/* The arena plan (see tg_plan.h). Sizes and places are computed by the same function, so the
 * size tg_arena_size() reports is exactly what tg_plan_step() lays out. */
#include "tg_plan.h"
#include "tg_util.h"

int tg_fuses_last(const tg_model *m)
{
    return m->n_layers >= 2 && m->layers[m->n_layers - 1].kind == TG_KIND_K4S2P1;
}

int tg_n_steps(const tg_model *m) { return m->n_layers - tg_fuses_last(m); }

uint32_t tg_act_bytes(const tg_model *m, int i)
{
    const tg_layer *l = &m->layers[i];
    if (i == m->n_layers - 1)
        return 0;
    return (uint32_t)l->cout * (l->out_h + 2u) * (l->out_w + 2u);
}

uint32_t tg_group_out_bytes(const tg_model *m)
{
    const tg_layer *l = &m->layers[m->n_layers - 2];
    return (uint32_t)l->chunk_groups * TG_GROUP * (l->out_h + 2u) * (l->out_w + 2u);
}

/* Offsets of the buffers between the two activation ends, from `at`. */
typedef struct {
    uint32_t chunk[2], params, last_params, last_weights, group_out, sums, end;
} middle_offsets;

static uint32_t take(uint32_t *at, uint32_t bytes)
{
    uint32_t here = *at;
    *at += tg_align4(bytes); /* every region 4-byte aligned: parameters are read as int32 */
    return here;
}

static void layout_middle(const tg_model *m, int s, uint32_t at, middle_offsets *o)
{
    const tg_layer *l = &m->layers[s];
    o->chunk[0] = take(&at, l->chunk_stride);
    o->chunk[1] = take(&at, l->chunk_stride);
    o->params = take(&at, tg_pad_sector(l->param_size));
    o->last_params = o->last_weights = o->group_out = o->sums = 0;
    if (tg_fuses_last(m) && s == m->n_layers - 2) {
        const tg_layer *z = &m->layers[m->n_layers - 1];
        o->last_params = take(&at, tg_pad_sector(z->param_size));
        o->last_weights = take(&at, (uint32_t)z->n_chunks * z->chunk_stride);
        o->group_out = take(&at, tg_group_out_bytes(m));
        o->sums = take(&at, 4u * z->out_h * z->out_w * z->cout);
    }
    o->end = at;
}

/* Activations of step s: its input is layer s-1's output; its output is layer s's unless the
 * step is the last (it writes the image). Step s puts its output at the bottom when s is odd. */
static uint32_t in_bytes(const tg_model *m, int s) { return s ? tg_align4(tg_act_bytes(m, s - 1)) : 0; }
static uint32_t out_bytes(const tg_model *m, int s) { return s == tg_n_steps(m) - 1 ? 0 : tg_align4(tg_act_bytes(m, s)); }

static uint32_t bottom_bytes(const tg_model *m, int s) { return (s & 1) ? out_bytes(m, s) : in_bytes(m, s); }

static uint32_t step_bytes(const tg_model *m, int s)
{
    middle_offsets o;
    layout_middle(m, s, 0, &o);
    return in_bytes(m, s) + out_bytes(m, s) + o.end;
}

size_t tg_arena_size(const tg_model *m)
{
    uint32_t size = 0;
    for (int s = 0; s < tg_n_steps(m); s++)
        if (step_bytes(m, s) > size)
            size = step_bytes(m, s);
    return size;
}

void tg_plan_step(const tg_model *m, int s, uint8_t *arena, tg_step *step)
{
    const uint32_t size = (uint32_t)tg_arena_size(m);
    uint8_t *bottom = arena, *top_in = arena + size - in_bytes(m, s), *top_out = arena + size - out_bytes(m, s);
    middle_offsets o;
    layout_middle(m, s, bottom_bytes(m, s), &o);
    step->first = step->last = s;
    step->in = s == 0 ? NULL : ((s & 1) ? top_in : bottom);
    step->out = out_bytes(m, s) == 0 ? NULL : ((s & 1) ? bottom : top_out);
    step->chunk[0] = arena + o.chunk[0];
    step->chunk[1] = arena + o.chunk[1];
    step->params = arena + o.params;
    step->last_params = step->last_weights = step->group_out = NULL;
    step->sums = NULL;
    if (tg_fuses_last(m) && s == m->n_layers - 2) {
        step->last = s + 1;
        step->last_params = arena + o.last_params;
        step->last_weights = arena + o.last_weights;
        step->group_out = arena + o.group_out;
        step->sums = (int32_t *)(void *)(arena + o.sums);
    }
}
