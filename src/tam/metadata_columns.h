/*-------------------------------------------------------------------------
 *
 * metadata_columns.h
 *	  Column numbers of the fluss_columnar metadata tables, and the
 *	  helpers metadata.c shares with extents.c.  Private to those two.
 *
 * IDENTIFICATION
 *	  src/tam/metadata_columns.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef FLUSS_COLUMNAR_METADATA_COLUMNS_H
#define FLUSS_COLUMNAR_METADATA_COLUMNS_H

/* columns of fluss_grid.columnar_row_group */
#define Natts_rg 6
#define Anum_rg_storage_id 1
#define Anum_rg_row_group 2
#define Anum_rg_first_row 3
#define Anum_rg_row_count 4
#define Anum_rg_first_block 5
#define Anum_rg_data_length 6

/* columns of fluss_grid.columnar_chunk */
#define Natts_chunk 12
#define Anum_chunk_storage_id 1
#define Anum_chunk_first_row 2
#define Anum_chunk_attnum 3
#define Anum_chunk_data_offset 4
#define Anum_chunk_data_length 5
#define Anum_chunk_raw_length 6
#define Anum_chunk_compression 7
#define Anum_chunk_encoding 8
#define Anum_chunk_null_count 9
#define Anum_chunk_checksum 10
#define Anum_chunk_min_value 11
#define Anum_chunk_max_value 12

/* columns of fluss_grid.columnar_deleted */
#define Natts_del 3
#define Anum_del_storage_id 1
#define Anum_del_row_number 2
#define Anum_del_updated 3

/* columns of fluss_grid.columnar_reserved */
#define Natts_res 3
#define Anum_res_storage_id 1
#define Anum_res_first_row 2
#define Anum_res_row_count 3

/* columns of fluss_grid.columnar_free_extent */
#define Natts_free 6
#define Anum_free_storage_id 1
#define Anum_free_first_row 2
#define Anum_free_row_count 3
#define Anum_free_first_block 4
#define Anum_free_nblocks 5
#define Anum_free_indexes_clean 6

/* columns of fluss_grid.columnar_options */
#define Natts_opt 3
#define Anum_opt_relid 1
#define Anum_opt_level 2
#define Anum_opt_row_group_rows 3

extern Oid	ColumnarMetaRelid(const char *name, bool missing_ok);
extern ColumnarRowGroup *ColumnarRowGroupFromTuple(Relation rgrel, HeapTuple tup,
												   int natts);
extern void ColumnarReadChunks(ColumnarRowGroup *rg, Snapshot snapshot);

#endif							/* FLUSS_COLUMNAR_METADATA_COLUMNS_H */
