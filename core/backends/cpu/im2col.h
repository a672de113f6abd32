/* im2col.h: unfolds convolution windows into a K × N matrix for sgemm. */
#ifndef SR_IM2COL_H
#define SR_IM2COL_H

/* in: channels × h × w; col: (channels·kh·kw) × (oh·ow), row k = (c, ky, kx). */
void sr__im2col(const float *in, int channels, int h, int w, int kh, int kw, int stride, int pad, int oh, int ow,
                float *col);

/* The adjoint: adds each column entry back onto its image position (im is
 * overwritten, not accumulated). */
void sr__col2im(const float *col, int channels, int h, int w, int kh, int kw, int stride, int pad, int oh, int ow,
                float *im);

#endif
