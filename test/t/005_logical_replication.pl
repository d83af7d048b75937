
# Copyright (c) fluss_grid contributors

# Rollups on replicas.
#
# Logical replication: a publisher (wal_level = logical, no fluss_grid)
# publishes a plain source table; a subscriber that preloads fluss_grid has
# the same table with a minutely and an hourly rollup on it.  The initial
# table sync (copy_data) and the apply worker's INSERT/UPDATE/DELETE reach
# the rollups through the row-level capture trigger that the engine enables
# with ENABLE REPLICA (the apply worker runs with session_replication_role
# = replica and fires no statement triggers): after catching up and
# wait_for_rollups(), every rollup equals a GROUP BY over the subscriber's
# table, with the initial copy counted exactly once.  A replicated
# TRUNCATE empties the rollups too.
#
# Physical replication: a hot standby of a primary with rollups runs no
# fluss_grid launcher or worker, reads the rollup rows as replicated (equal
# to the primary's and to a GROUP BY over its own copy of the source),
# answers the _realtime views and fluss_grid.rollups, and refuses
# wait_for_rollups() and fold_now().  The workers commit their folds
# asynchronously and wait_for_rollups() on the primary flushes them, so a
# standby that has replayed up to the WAL position read after it shows the
# folded rollups (the primary's WAL writer sleeps 10 s here, so that it is
# not what writes a small fold out).  Promoted, it starts a worker that
# folds.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use FlussGridTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $jit_off = q{
# the comparison queries over _realtime views cross jit_above_cost and
# would spend ~0.5 s each compiling
jit = off
};

# ---------------------------------------------------------------------------
# comparison with a from-scratch GROUP BY

# a query returning true when relation $rel (bucket width $bucket) equals a
# GROUP BY over src
sub matches_sql
{
	my ($rel, $bucket) = @_;
	return fg_matches_sql($rel, $bucket, avg => 1);
}

my $all_match = 'SELECT ('
  . join(') AND (',
	matches_sql('m', '1 minute'),
	matches_sql('m_realtime', '1 minute'),
	matches_sql('h', '1 hour'),
	matches_sql('h_realtime', '1 hour'))
  . ')';
my $tables_match = 'SELECT ('
  . join(') AND (', matches_sql('m', '1 minute'), matches_sql('h', '1 hour'))
  . ')';

my $create_src = q{
	CREATE TABLE src (id integer PRIMARY KEY, ts timestamptz,
	                  region text NOT NULL, v integer);
};
my $create_rollups = q{
	CREATE EXTENSION fluss_grid;
	SELECT fluss_grid.create_rollup('m', 'src', 'ts', interval '1 minute',
	    ARRAY['region'],
	    ARRAY['count(*) AS n', 'sum(v)', 'min(v)', 'max(v)', 'avg(v)']);
	SELECT fluss_grid.create_rollup(name => 'h', source => 'm',
	                                bucket => interval '1 hour');
};

# rows $from .. $to of a deterministic stream
sub insert_sql
{
	my ($from, $to) = @_;
	return qq{
	INSERT INTO src (id, ts, region, v)
	SELECT g, '2024-03-10 15:00:00+00'::timestamptz + g * interval '13 seconds',
	       'r' || (g % 4), (g * 37) % 1000
	  FROM generate_series($from, $to) g;};
}

# ===========================================================================
# Logical replication
# ===========================================================================

my $pub = PostgreSQL::Test::Cluster->new('publisher');
$pub->init(allows_streaming => 'logical');
$pub->start;

my $sub = fg_node('subscriber', conf => $jit_off);

$pub->safe_psql('postgres', 'CREATE DATABASE grid');
$sub->safe_psql('postgres', 'CREATE DATABASE grid');
$pub->safe_psql('grid', $create_src . insert_sql(1, 1500));
$pub->safe_psql('grid', 'CREATE PUBLICATION grid_pub FOR TABLE src');

$sub->safe_psql('grid', $create_src . $create_rollups);
is($sub->safe_psql('grid',
		"SELECT count(*) FROM pg_trigger WHERE tgrelid = 'src'::regclass AND tgname LIKE '\\_fg\\_capture\\_%\\_row' AND tgenabled = 'R'"),
	'1', 'subscriber: the row capture trigger is enabled for replica only');

my $pub_conn = $pub->connstr . ' dbname=grid';
$sub->safe_psql('grid',
	"CREATE SUBSCRIPTION grid_sub CONNECTION '$pub_conn' PUBLICATION grid_pub WITH (copy_data = true)");
$sub->wait_for_subscription_sync($pub, 'grid_sub', 'grid');

is($sub->safe_psql('grid', 'SELECT count(*) FROM src'),
	'1500', 'subscriber: initial sync copied the rows');
is($sub->safe_psql('grid', 'SELECT fluss_grid.wait_for_rollups()'),
	't', 'subscriber: wait_for_rollups() true after the initial sync');
is($sub->safe_psql('grid', $all_match), 't',
	'subscriber: rollups equal GROUP BY after the initial sync (copied rows counted once)');
is($sub->safe_psql('grid', 'SELECT sum(n) FROM m'),
	'1500', 'subscriber: every copied row is in the minutely rollup exactly once');

# changes applied by the apply worker
$pub->safe_psql(
	'grid', insert_sql(1501, 2500) . q{
	UPDATE src SET v = v + 1000 WHERE id % 7 = 0;                    -- new maxima
	UPDATE src SET region = 'r9' WHERE id % 11 = 0;                  -- moves groups
	UPDATE src SET ts = ts + interval '2 hours' WHERE id % 13 = 0;   -- moves buckets
	UPDATE src SET ts = NULL WHERE id % 29 = 0;                      -- leaves every bucket
	DELETE FROM src WHERE v = (SELECT max(v) FROM src);              -- an extreme
	DELETE FROM src WHERE id % 5 = 0;
	BEGIN; DELETE FROM src; ROLLBACK;                                -- nothing
});
$pub->wait_for_catchup('grid_sub');
is($sub->safe_psql('grid', 'SELECT count(*) FROM src'),
	$pub->safe_psql('grid', 'SELECT count(*) FROM src'),
	'subscriber caught up');
is($sub->safe_psql('grid', 'SELECT fluss_grid.wait_for_rollups()'),
	't', 'subscriber: wait_for_rollups() true after applied changes');
is($sub->safe_psql('grid', $all_match), 't',
	'subscriber: rollups and _realtime views equal GROUP BY after INSERT/UPDATE/DELETE');
is($sub->safe_psql('grid',
		'SELECT coalesce(sum(pending_changes), 0) FROM fluss_grid.rollups'),
	'0', 'subscriber: nothing pending');

# the worker folds replicated changes without being asked
$pub->safe_psql('grid', insert_sql(2501, 2600));
$pub->wait_for_catchup('grid_sub');
ok( $sub->poll_query_until('grid',
		"SELECT ($tables_match) AND (SELECT coalesce(sum(pending_changes), 0) = 0 FROM fluss_grid.rollups)"
	),
	'subscriber: the worker folds replicated changes by itself');

# a rollup created on the subscriber after the sync: backfilled, then fed
$sub->safe_psql('grid',
	"SELECT fluss_grid.create_rollup('m2', 'src', 'ts', interval '5 minutes', ARRAY['region'], ARRAY['count(*) AS n', 'sum(v)', 'min(v)', 'max(v)', 'avg(v)'])"
);
$pub->safe_psql('grid',
	insert_sql(2601, 2700) . ' UPDATE src SET v = v - 1 WHERE id % 3 = 0;');
$pub->wait_for_catchup('grid_sub');
is($sub->safe_psql('grid', 'SELECT fluss_grid.wait_for_rollups()'),
	't', 'subscriber: wait_for_rollups() true');
is( $sub->safe_psql('grid',
		'SELECT (' . matches_sql('m2', '5 minutes') . ') AND ('
		  . matches_sql('m2_realtime', '5 minutes') . ')'),
	't', 'subscriber: a rollup created after the sync is backfilled and fed exactly');
is($sub->safe_psql('grid', $all_match), 't',
	'subscriber: the other rollups are still exact');

# a replicated TRUNCATE, then new rows
$pub->safe_psql('grid', 'TRUNCATE src');
$pub->wait_for_catchup('grid_sub');
is($sub->safe_psql('grid', 'SELECT count(*) FROM src'),
	'0', 'subscriber: TRUNCATE replicated');
is($sub->safe_psql('grid', 'SELECT fluss_grid.wait_for_rollups()'),
	't', 'subscriber: wait_for_rollups() true after the TRUNCATE');
is($sub->safe_psql('grid', 'SELECT count(*) FROM m_realtime'),
	'0', 'subscriber: the _realtime view is empty after a replicated TRUNCATE');
is($sub->safe_psql('grid', 'SELECT count(*) FROM m'),
	'0', 'subscriber: the rollup is empty after a replicated TRUNCATE');
$pub->safe_psql('grid', insert_sql(5001, 5400));
$pub->wait_for_catchup('grid_sub');
is($sub->safe_psql('grid', 'SELECT fluss_grid.wait_for_rollups()'),
	't', 'subscriber: wait_for_rollups() true after new rows');
is($sub->safe_psql('grid', $all_match), 't',
	'subscriber: rollups equal GROUP BY after TRUNCATE and new rows');

$sub->safe_psql('grid', 'DROP SUBSCRIPTION grid_sub');
$sub->stop;
$pub->stop;
unlike(slurp_file($sub->logfile),
	qr/(terminated by signal|server process .* was terminated|PANIC)/,
	'subscriber: no process crashed');

# ===========================================================================
# Hot standby
# ===========================================================================

my $primary = fg_node(
	'primary',
	conf => $jit_off . "wal_writer_delay = 10s\n",
	init => { allows_streaming => 1 });
$primary->safe_psql('postgres', 'CREATE DATABASE grid');
$primary->safe_psql('grid', $create_src . insert_sql(1, 1000) . $create_rollups);
ok( $primary->poll_query_until(
		'grid',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'fluss_grid worker' AND datname = 'grid'"
	),
	'primary: a worker runs');

$primary->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->start;

$primary->safe_psql(
	'grid', insert_sql(1001, 2000) . q{
	UPDATE src SET v = v + 500 WHERE id % 9 = 0;
	DELETE FROM src WHERE id % 4 = 0;
});
is($primary->safe_psql('grid', 'SELECT fluss_grid.wait_for_rollups()'),
	't', 'primary: wait_for_rollups() true');
$primary->wait_for_catchup($standby, 'replay');

is($standby->safe_psql('grid', 'SELECT pg_is_in_recovery()'),
	't', 'standby is in recovery');
is( $standby->safe_psql(
		'postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'fluss_grid%'"),
	'0', 'standby: no fluss_grid launcher or worker in pg_stat_activity');
is($standby->safe_psql('grid', 'SELECT count(*) FROM fluss_grid.workers()'),
	'0', 'standby: fluss_grid.workers() lists none');

my $rows_sql = 'SELECT bucket, region, n, sum_v, min_v, max_v, avg_v FROM m ORDER BY 1, 2';
is($standby->safe_psql('grid', $rows_sql),
	$primary->safe_psql('grid', $rows_sql),
	'standby: minutely rollup rows equal the primary\'s');
$rows_sql = 'SELECT bucket, region, n, sum_v, min_v, max_v, avg_v FROM h ORDER BY 1, 2';
is($standby->safe_psql('grid', $rows_sql),
	$primary->safe_psql('grid', $rows_sql),
	'standby: hourly rollup rows equal the primary\'s');
is($standby->safe_psql('grid', $all_match), 't',
	'standby: rollups and _realtime views equal GROUP BY over the replicated source');
is( $standby->safe_psql('grid',
		"SELECT string_agg(name::text || ':' || pending_changes, ',' ORDER BY name::text) FROM fluss_grid.rollups"),
	'h:0,m:0', 'standby: fluss_grid.rollups answers');

my ($ret, $out, $err) =
  $standby->psql('grid', 'SELECT fluss_grid.wait_for_rollups()');
isnt($ret, 0, 'standby: wait_for_rollups() refuses');
like($err, qr/cannot wait for rollups during recovery/,
	'standby: wait_for_rollups() says why');
($ret, $out, $err) = $standby->psql('grid', 'SELECT fluss_grid.fold_now()');
isnt($ret, 0, 'standby: fold_now() refuses');

# the primary goes on; the standby follows, its workers still idle
$primary->safe_psql('grid',
	insert_sql(2001, 2300) . ' DELETE FROM src WHERE id % 10 = 1;');
is($primary->safe_psql('grid', 'SELECT fluss_grid.wait_for_rollups()'),
	't', 'primary: wait_for_rollups() true again');
# (on the primary first: tells a fold that was not done from a replay that
# was not)
is($primary->safe_psql('grid', $all_match), 't',
	'primary: rollups equal GROUP BY over the source again');
$primary->wait_for_catchup($standby, 'replay');
is($standby->safe_psql('grid', $all_match), 't',
	'standby: rollups follow the primary');

# one row: its folds write less than a WAL page, which the WAL writer
# (asleep for 10 s) leaves unwritten; wait_for_rollups() writes them out.
# The flushed position is read in the same statement, before anything else
# could flush: a standby that has replayed up to it has the folds.
is( $primary->safe_psql('grid',
		'WITH u AS (UPDATE src SET v = v + 1 WHERE id = 2002 RETURNING 1) SELECT count(*) FROM u'),
	'1', 'primary: one row updated');
my ($waited, $flushed) = split /\|/,
  $primary->safe_psql('grid',
	'SELECT fluss_grid.wait_for_rollups(), pg_current_wal_flush_lsn()');
is($waited, 't', 'primary: wait_for_rollups() true after a one-row change');
$primary->wait_for_catchup($standby, 'replay', $flushed);
is($standby->safe_psql('grid', $tables_match), 't',
	'standby: replayed up to the WAL flushed when wait_for_rollups() returned, it has the folds');
is( $standby->safe_psql(
		'postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'fluss_grid%'"),
	'0', 'standby: still no fluss_grid process');

# promoted, the standby starts folding
$primary->stop;
$standby->promote;
ok( $standby->poll_query_until(
		'postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'fluss_grid worker' AND datname = 'grid'"
	),
	'promoted standby: a worker runs');
$standby->safe_psql('grid',
	insert_sql(3001, 3300) . ' UPDATE src SET v = v * 2 WHERE id % 6 = 0;');
is($standby->safe_psql('grid', 'SELECT fluss_grid.wait_for_rollups()'),
	't', 'promoted standby: wait_for_rollups() true');
is($standby->safe_psql('grid', $all_match), 't',
	'promoted standby: rollups equal GROUP BY');

$standby->stop;
unlike(slurp_file($standby->logfile),
	qr/(terminated by signal|server process .* was terminated|PANIC)/,
	'standby: no process crashed');

done_testing();
