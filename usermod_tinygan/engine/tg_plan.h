/* The arena plan: where every buffer of every step lives in the one caller-provided arena.
 *
 * A step runs one layer, except that the last layer (the small RGB one) is fused into the step of
 * the layer before it: that layer's output channels are produced a channel group at a time, and
 * each finished group is at once pushed through the last layer into int32 sums of the whole image,
 * so the largest activation tensor of the model (layer n-2's output) never exists in full.
 *
 * Within a step, the input sits at one end of the arena and the output at the other end (the
 * input of step i is where step i-1 wrote its output), and the step's other buffers lie in between.
 * The arena is the largest step's total; tg_arena_size() returns it.
 */
#ifndef TG_PLAN_H
#define TG_PLAN_H

#include "tg_engine.h"

typedef struct {
    int first, last;        /* the layers the step runs: last == first, or first + 1 when fused */
    uint8_t *in, *out;      /* padded CHW activations; in is NULL for layer 0 (it reads the latent),
                               out is NULL when the step's output is the caller's image */
    uint8_t *chunk[2];      /* double buffer for the streamed weight chunks of layer `first` */
    uint8_t *params;        /* parameter block of layer `first` */
    /* fused last layer only (NULL otherwise) */
    uint8_t *last_params;   /* its parameter block */
    uint8_t *last_weights;  /* all its chunks, resident for the whole step */
    uint8_t *group_out;     /* layer `first`'s output planes of one chunk's channel groups */
    int32_t *sums;          /* [out_h][out_w][cout] int32 sums of the last layer, bias included */
} tg_step;

/* 1 when the last layer is fused into the step of the layer before it. */
int tg_fuses_last(const tg_model *m);

/* Number of steps: n_layers, or n_layers - 1 with the fusion. */
int tg_n_steps(const tg_model *m);

/* Bytes of padded CHW activations layer i writes (0 for the last layer: it writes the image). */
uint32_t tg_act_bytes(const tg_model *m, int i);

/* Bytes of the one-chunk-at-a-time group output buffer of the fused step. */
uint32_t tg_group_out_bytes(const tg_model *m);

/* Fills step s's buffer pointers inside arena (at least tg_arena_size(m) bytes, 4-byte aligned). */
void tg_plan_step(const tg_model *m, int s, uint8_t *arena, tg_step *step);

#endif
