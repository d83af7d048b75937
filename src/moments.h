/*-------------------------------------------------------------------------
 *
 * moments.h
 *	  The error-free transformations behind the float moments states
 *	  (moments.c), and the capture's per-row accumulation, inline: the C
 *	  lift (aggstate_lift.c) runs it for every row of a statement.
 *
 * IDENTIFICATION
 *	  src/moments.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef FLUSS_GRID_MOMENTS_H
#define FLUSS_GRID_MOMENTS_H

#include <math.h>

/* s + e = a + b exactly (Knuth's TwoSum) */
static inline void
fg_two_sum(double a, double b, double *s, double *e)
{
	double		bb;

	*s = a + b;
	bb = *s - a;
	*e = (a - (*s - bb)) + (b - bb);
}

/*
 * x*x - p exactly, for p = x*x rounded (Dekker's product, with Veltkamp's
 * split of x into two halves whose products are exact): what fma(x, x, -p)
 * gives, without the library call that fma() is on a build for baseline
 * x86-64.  When x*x overflows, both give NaN.
 */
static inline double
fg_square_error(double x, double p)
{
	double		c = 134217729.0 * x;	/* 2^27 + 1 */
	double		xh = c - (c - x);
	double		xl = x - xh;

	return ((xh * xh - p) + 2 * xh * xl) + xl * xl;
}

/*
 * FgMomAdd
 *		Add one finite value to a lift accumulator (float8[FG_MOM_LEN]).
 *		The capture adds every row of a statement, so this is the engine's
 *		hottest arithmetic: each addition's exact rounding error (TwoSum) is
 *		collected in the low word without renormalising the pair, half the
 *		work of dd_add per value (Neumaier's compensated summation).  The
 *		low word's own rounding errors stay below n^2 eps^2 times the
 *		largest partial sum for n rows (about 1e-24 of it for a bucket of
 *		12,000 rows), far below the 1e-16 the state promises.  The pair
 *		leaves the lift through FgMomArrayNormalized.
 */
static inline void
FgMomAdd(float8 *v, double x)
{
	double		s,
				e,
				p,
				pe;

	v[0] += 1;
	fg_two_sum(v[1], x, &s, &e);
	v[1] = s;
	v[2] += e;
	p = x * x;
	pe = fg_square_error(x, p);
	fg_two_sum(v[3], p, &s, &e);
	v[3] = s;
	v[4] += e + pe;
}

#endif							/* FLUSS_GRID_MOMENTS_H */
