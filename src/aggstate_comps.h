/*-------------------------------------------------------------------------
 *
 * aggstate_comps.h
 *	  The state components of an aggregate and their merge disciplines,
 *	  shared by aggstate.c (the SQL of every phase) and aggstate_lift.c
 *	  (the C lift).  Private to those two.
 *
 * IDENTIFICATION
 *	  src/aggstate_comps.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef FLUSS_GRID_AGGSTATE_COMPS_H
#define FLUSS_GRID_AGGSTATE_COMPS_H

typedef enum FgMerge
{
	FG_MERGE_ADD,
	FG_MERGE_MOM,
	FG_MERGE_EXT,
	FG_MERGE_FL,
	FG_MERGE_DSC				/* largest display scale of numeric inputs */
} FgMerge;

typedef enum FgRowValue
{
	FG_RV_ROWS,					/* counts rows (count(*)) */
	FG_RV_NONNULL,				/* counts non-NULL inputs */
	FG_RV_FINITE_SUM,			/* sum of finite inputs */
	FG_RV_FINITE_SQ,			/* sum of squares of finite inputs */
	FG_RV_PINF,
	FG_RV_NINF,
	FG_RV_NAN,
	FG_RV_NONFINITE,			/* NaN or +-Infinity */
	FG_RV_MOM,
	FG_RV_VALUE,				/* EXT, FL */
	FG_RV_SCALE					/* DSC */
} FgRowValue;

typedef struct FgComp
{
	const char *name;			/* column suffix */
	FgMerge		merge;
	FgRowValue	rv;
	const char *type;			/* SQL type of the component; NULL = arg */
} FgComp;

/* the component vector of an aggregate, ended by an entry without name */
extern const FgComp *FgAggComps(const FgAgg *agg);
/* min and first keep the smallest; max and last the largest */
extern bool FgAggMinLike(FgAggKind kind);

/* keep (x, t) in acc when it is a better first/last candidate (lift) */
extern void FgAggFirstLastKeep(const FgAgg *agg, const FgLiftArg *arg,
							   FgLiftAcc *acc, Datum x, bool xnull,
							   Timestamp t, MemoryContext cxt);

#endif							/* FLUSS_GRID_AGGSTATE_COMPS_H */
