# fluss_grid: real-time grid warehouse inside PostgreSQL (PGXS build)

EXTENSION  = fluss_grid
MODULE_big = fluss_grid
OBJS = src/fluss_grid.o src/aggstate.o src/aggstate_lift.o src/moments.o src/extreme.o src/catalog.o src/rollup_sql.o \
       src/changelog.o src/fold.o src/fold_compute.o src/aggstate_fold.o src/worker.o src/worker_sql.o src/api.o src/lift.o src/bucket.o src/estimate.o \
       src/transform.o src/plan_watch.o \
       src/tam/handler.o src/tam/reader.o src/tam/writer.o src/tam/compression.o \
       src/tam/storage.o src/tam/metadata.o src/tam/extents.o src/tam/customscan.o \
       src/tam/vacuum.o
DATA = $(wildcard sql/fluss_grid--*.sql)
PGFILEDESC = "fluss_grid - continuous exact rollups for grid telemetry"

PG_CPPFLAGS = -Isrc
SHLIB_LINK += -lzstd
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare

REGRESS = setup api errors semantics hierarchy timezone partition security lift fold transform warehouse columnar columnar_encoding columnar_index columnar_scan \
          columnar_vacuum columnar_parallel columnar_rowqual
REGRESS_OPTS = --temp-config=test/fluss_grid.conf --temp-instance=./tmp_check \
               --load-extension=fluss_grid

ISOLATION = concurrent_writers fold_race create_during_ingest columnar_concurrency columnar_unique \
            columnar_vacuum columnar_parallel
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=output_iso \
                 --temp-config=test/fluss_grid.conf --temp-instance=./tmp_iso \
                 --load-extension=fluss_grid

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

EXTRA_CLEAN = tmp_check tmp_iso output_iso results regression.diffs \
              regression.out log

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# every object depends on the shared header (PGXS tracks no header dependencies)
$(OBJS): src/fluss_grid.h src/aggstate_comps.h src/moments.h src/tam/columnar.h src/tam/metadata_columns.h

# ---------------------------------------------------------------------------
# fluss-gridsim, the telemetry simulator (src/gridsim, a libpq program with
# its own PGXS Makefile): built, installed and cleaned with the extension.
.PHONY: gridsim install-gridsim uninstall-gridsim clean-gridsim
all: gridsim
install: install-gridsim
uninstall: uninstall-gridsim
clean: clean-gridsim
gridsim:
	$(MAKE) -C src/gridsim PG_CONFIG=$(PG_CONFIG)
install-gridsim: gridsim
	$(MAKE) -C src/gridsim PG_CONFIG=$(PG_CONFIG) install
uninstall-gridsim:
	$(MAKE) -C src/gridsim PG_CONFIG=$(PG_CONFIG) uninstall
clean-gridsim:
	$(MAKE) -C src/gridsim PG_CONFIG=$(PG_CONFIG) clean
