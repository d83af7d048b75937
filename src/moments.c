/*-------------------------------------------------------------------------
 *
 * moments.c
 *	  Retractable float8 partial states: count, sum and sum of squares of
 *	  finite values, each sum kept as an unevaluated pair of doubles
 *	  (hi + lo, "double-double", about 106 bits).
 *
 * A plain float8 running sum cannot take a value back: after adding 1e20
 * and 1.5, subtracting 1e20 leaves 0, not 1.5.  With error-free
 * transformations (TwoSum, and fma for exact squares) the pair keeps the
 * low-order part that a double drops, so retracting a large value leaves
 * the small ones intact, and results agree with a from-scratch aggregate
 * to about 1e-16 of the magnitude of the values still present, whatever
 * the order of inserts and deletes.  Standard deviation is finished in
 * quad precision from these exact-ish moments.
 *
 * State: float8[5] = {n, s_hi, s_lo, q_hi, q_lo}.
 *
 * IDENTIFICATION
 *	  src/moments.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"

#include "fluss_grid.h"
#include "moments.h"

PG_FUNCTION_INFO_V1(fluss_grid_mom_accum);
PG_FUNCTION_INFO_V1(fluss_grid_mom_merge);
PG_FUNCTION_INFO_V1(fluss_grid_mom_sub);
PG_FUNCTION_INFO_V1(fluss_grid_mom_sum);
PG_FUNCTION_INFO_V1(fluss_grid_mom_stddev);


#ifdef __SIZEOF_FLOAT128__
typedef __float128 quad;
#else
typedef long double quad;
#endif

/* (hi, lo) += x, renormalised */
static inline void
dd_add(double *hi, double *lo, double x)
{
	double		s,
				e;

	fg_two_sum(*hi, x, &s, &e);
	e += *lo;
	fg_two_sum(s, e, hi, lo);
}

static float8 *
mom_values(ArrayType *a)
{
	if (ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != FG_MOM_LEN || ARR_HASNULL(a) ||
		ARR_ELEMTYPE(a) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("fluss_grid moments state must be a 5-element float8 array")));
	return (float8 *) ARR_DATA_PTR(a);
}

/*
 * FgMomRead
 *		Copy the values of a state passed as a Datum into v.  A state read
 *		from a tuple has a short varlena header and is unaligned; copying
 *		it into an aligned buffer is cheaper than detoasting it into a
 *		palloc'd copy, once per changelog row.
 */
void
FgMomRead(Datum d, float8 *v)
{
	struct varlena *p = (struct varlena *) DatumGetPointer(d);

	if (VARATT_IS_SHORT(p) && !VARATT_IS_EXTERNAL(p) &&
		VARSIZE_SHORT(p) - VARHDRSZ_SHORT == ARR_OVERHEAD_NONULLS(1) - VARHDRSZ +
		sizeof(float8) * FG_MOM_LEN)
	{
		/* the array header after vl_len_, read from its unaligned place */
		struct
		{
			int			ndim;
			int32		dataoffset;
			Oid			elemtype;
			int			dim1;
		}			h;

		memcpy(&h, VARDATA_SHORT(p), sizeof(h));
		if (h.ndim == 1 && h.dataoffset == 0 && h.elemtype == FLOAT8OID &&
			h.dim1 == FG_MOM_LEN)
		{
			memcpy(v, VARDATA_SHORT(p) + ARR_OVERHEAD_NONULLS(1) - VARHDRSZ,
				   sizeof(float8) * FG_MOM_LEN);
			return;
		}
	}
	memcpy(v, mom_values(DatumGetArrayTypeP(d)), sizeof(float8) * FG_MOM_LEN);
}

static ArrayType *
mom_make(const float8 *v)
{
	Datum		d[FG_MOM_LEN];

	for (int i = 0; i < FG_MOM_LEN; i++)
		d[i] = Float8GetDatumFast(v[i]);
	return construct_array(d, FG_MOM_LEN, FLOAT8OID, sizeof(float8),
						   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

/*
 * FgMomAccum
 *		Add one finite value to the state v (float8[FG_MOM_LEN]); shared by the
 *		aggregate and the capture trigger's C lift.
 */
void
FgMomAccum(float8 *v, double x)
{
	double		p,
				pe;

	v[0] += 1;
	dd_add(&v[1], &v[2], x);
	p = x * x;
	pe = fma(x, x, -p);			/* exact: x*x = p + pe */
	dd_add(&v[3], &v[4], p);
	dd_add(&v[3], &v[4], pe);
}

/*
 * FgMomArrayNormalized
 *		The SQL value of a lift accumulator built by FgMomAdd: each pair
 *		renormalised (|lo| at most half an ulp of hi), as dd_add leaves it.
 */
Datum
FgMomArrayNormalized(const float8 *v)
{
	float8		w[FG_MOM_LEN];

	w[0] = v[0];
	for (int i = 1; i < FG_MOM_LEN; i += 2)
	{
		if (isfinite(v[i]) && isfinite(v[i + 1]))
			fg_two_sum(v[i], v[i + 1], &w[i], &w[i + 1]);
		else
		{
			w[i] = v[i];
			w[i + 1] = v[i + 1];
		}
	}
	return PointerGetDatum(mom_make(w));
}

/*
 * FgMomArray
 *		The SQL value (float8[]) of a state.
 */
Datum
FgMomArray(const float8 *v)
{
	return PointerGetDatum(mom_make(v));
}

/* a += sign * b */
void
FgMomCombine(float8 *a, const float8 *b, double sign)
{
	a[0] += sign * b[0];
	dd_add(&a[1], &a[2], sign * b[1]);
	dd_add(&a[1], &a[2], sign * b[2]);
	dd_add(&a[3], &a[4], sign * b[3]);
	dd_add(&a[3], &a[4], sign * b[4]);
	if (a[0] <= 0)
		memset(a, 0, sizeof(float8) * FG_MOM_LEN);
}

/*
 * FgMomMerge
 *		Add the state d (a float8[] Datum) to v: mom_merge, for the C lift
 *		of a rollup source.
 */
void
FgMomMerge(float8 *v, Datum d)
{
	float8		b[FG_MOM_LEN];

	FgMomRead(d, b);
	FgMomCombine(v, b, 1.0);
}

/*
 * fluss_grid_mom_accum
 *		Aggregate transition: add one finite value.
 */
Datum
fluss_grid_mom_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	float8		x = PG_GETARG_FLOAT8(1);
	float8	   *v = mom_values(state);

	if (!AggCheckCallContext(fcinfo, NULL))
	{
		state = mom_make(v);
		v = (float8 *) ARR_DATA_PTR(state);
	}
	FgMomAccum(v, x);
	PG_RETURN_ARRAYTYPE_P(state);
}

/*
 * fluss_grid_mom_merge
 *		a + b; modifies a in place inside an aggregate.
 */
Datum
fluss_grid_mom_merge(PG_FUNCTION_ARGS)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);
	float8	   *av = mom_values(a);
	float8		bv[FG_MOM_LEN];

	if (!AggCheckCallContext(fcinfo, NULL))
	{
		a = mom_make(av);
		av = (float8 *) ARR_DATA_PTR(a);
	}
	FgMomRead(PG_GETARG_DATUM(1), bv);
	FgMomCombine(av, bv, 1.0);
	PG_RETURN_ARRAYTYPE_P(a);
}

/*
 * fluss_grid_mom_sub
 *		a - b: the state of a without the values of b.
 */
Datum
fluss_grid_mom_sub(PG_FUNCTION_ARGS)
{
	float8		v[FG_MOM_LEN];

	float8		b[FG_MOM_LEN];

	FgMomRead(PG_GETARG_DATUM(0), v);
	FgMomRead(PG_GETARG_DATUM(1), b);
	FgMomCombine(v, b, -1.0);
	PG_RETURN_ARRAYTYPE_P(mom_make(v));
}

/*
 * fluss_grid_mom_sum
 *		The sum of the values.
 */
Datum
fluss_grid_mom_sum(PG_FUNCTION_ARGS)
{
	float8		v[FG_MOM_LEN];

	FgMomRead(PG_GETARG_DATUM(0), v);
	PG_RETURN_FLOAT8(v[1] + v[2]);
}

/*
 * fluss_grid_mom_stddev
 *		Sample standard deviation; NULL for fewer than two values.
 */
Datum
fluss_grid_mom_stddev(PG_FUNCTION_ARGS)
{
	float8		v[FG_MOM_LEN];

	FgMomRead(PG_GETARG_DATUM(0), v);
	if (v[0] < 2)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(FgMomStddev(v));
}

/*
 * FgMomStddev
 *		Sample standard deviation of a state of two values or more.
 */
double
FgMomStddev(const float8 *v)
{
	quad		n = v[0];
	quad		s = (quad) v[1] + (quad) v[2];
	quad		q = (quad) v[3] + (quad) v[4];
	quad		var;

	Assert(v[0] >= 2);
	var = (q - s * s / n) / (n - 1);
	if (var < 0)
		var = 0;
	return sqrt((double) var);
}
