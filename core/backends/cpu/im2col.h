/* im2col.h: unfolds convolution windows into a K × N matrix for sgemm. */
#ifndef SR_IM2COL_H
#define SR_IM2COL_H

#include <stddef.h>

/* in: channels × h × w; col: (channels·kh·kw) × (oh·ow), row k = (c, ky, kx),
 * rows @ld floats apart (ld ≥ oh·ow: frames can sit side by side). */
void sr__im2col(const float *in, int channels, int h, int w, int kh, int kw, int stride, int pad, int oh, int ow,
                float *col, size_t ld);

/* Columns [p0, p1) of the same matrix (output pixels p = oy·ow + ox), as a
 * K × (p1 − p0) matrix: lets threads unfold disjoint column ranges. */
void sr__im2col_cols(const float *in, int channels, int h, int w, int kh, int kw, int stride, int pad, int oh, int ow,
                     int p0, int p1, float *col);

/* The adjoint: adds each column entry back onto its image position (im is
 * overwritten, not accumulated). */
void sr__col2im(const float *col, int channels, int h, int w, int kh, int kw, int stride, int pad, int oh, int ow,
                float *im);

#endif
