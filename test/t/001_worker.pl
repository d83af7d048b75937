
# Copyright (c) fluss_grid contributors

# Background workers: the launcher and one worker per database with the
# extension show up in pg_stat_activity; the worker folds without being
# asked; a terminated worker is restarted and folding goes on;
# fluss_grid.enabled = off keeps changes pending and turning it on folds
# them; a commit wakes the worker even with an hour-long naptime, and a
# lowered naptime applies at once; a worker leaves when its database drops
# the extension and comes back with CREATE EXTENSION; ALTER DATABASE ...
# RENAME, CREATE DATABASE ... TEMPLATE and DROP DATABASE work while workers
# run.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use FlussGridTest;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = fg_node('worker');

# ---------------------------------------------------------------------------
# helpers

# a query returning true when each relation of @rels (rollup $r or its
# _realtime view; bucket width $bucket) equals a GROUP BY over src
sub rollup_matches_sql
{
	my ($r, $bucket, @rels) = @_;
	@rels = ($r, "${r}_realtime") unless @rels;
	return 'SELECT (' . join(') AND (', map { fg_matches_sql($_, $bucket) } @rels) . ')';
}

my $all_match =
	'SELECT ('
  . rollup_matches_sql('m', '1 minute')
  . ') AND ('
  . rollup_matches_sql('h', '1 hour') . ')';

# ... and nothing is pending any more
my $all_folded =
	"SELECT ($all_match) AND (SELECT coalesce(sum(pending_changes), 0) = 0"
  . ' FROM fluss_grid.rollups)';

sub pending
{
	my ($db) = @_;
	return $node->safe_psql($db,
		'SELECT coalesce(sum(pending_changes), 0) FROM fluss_grid.rollups');
}

my $batch = 0;

# insert a batch of rows, with an update and a delete of earlier ones
sub write_batch
{
	my ($db) = @_;
	$batch++;
	$node->safe_psql(
		$db, qq{
		INSERT INTO src (ts, region, v)
		SELECT '2024-03-10 15:00:00+00'::timestamptz + (g * 7 + $batch) * interval '1 second',
		       'r' || (g % 3), (g * 31 + $batch) % 1000
		  FROM generate_series(1, 500) g;
		UPDATE src SET v = v + 1000 WHERE id % 17 = $batch % 17;
		DELETE FROM src WHERE id % 23 = $batch % 23;
	});
}

# ---------------------------------------------------------------------------
# the launcher starts with the server

ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity"
		  . " WHERE backend_type = 'fluss_grid launcher'"),
	'launcher shows in pg_stat_activity');

for my $db ('fg1', 'fg2')
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, $FG_ROLLUPS);
}

ok( $node->poll_query_until(
		'postgres',
		'SELECT ('
		  . fg_workers_sql('fg1', 1)
		  . ') AND ('
		  . fg_workers_sql('fg2', 1) . ')'),
	'one worker per database with the extension');
is($node->safe_psql('postgres', fg_workers_sql('postgres', 0)),
	't', 'no worker in a database without the extension');
is( $node->safe_psql(
		'fg1',
"SELECT count(*) FROM fluss_grid.workers() WHERE role = 'first' AND datname = current_database()"
	),
	'1',
	'fluss_grid.workers() lists the worker');

# ---------------------------------------------------------------------------
# folding by the worker, and wait_for_rollups

write_batch('fg1');
is($node->safe_psql('fg1', 'SELECT fluss_grid.wait_for_rollups()'),
	't', 'wait_for_rollups() returns true');
is($node->safe_psql('fg1', $all_match),
	't',
	'minutely and hourly rollups equal GROUP BY after wait_for_rollups()');
is(pending('fg1'), '0', 'nothing pending after wait_for_rollups()');

# nobody asks for a fold: the worker does it on its own
write_batch('fg1');
ok( $node->poll_query_until('fg1', $all_folded),
	'the worker folds committed changes by itself');

# ---------------------------------------------------------------------------
# a terminated worker is restarted and folding continues

my $old_pid = fg_worker_pid($node, 'fg1');
ok($old_pid =~ /^\d+$/, "worker of fg1 runs (pid $old_pid)");
$node->safe_psql('postgres', "SELECT pg_terminate_backend($old_pid)");
ok( $node->poll_query_until(
		'postgres', fg_workers_sql('fg1', 1, "AND pid <> $old_pid")),
	'a new worker replaces the terminated one');
my $new_pid = fg_worker_pid($node, 'fg1');
isnt($new_pid, $old_pid, "new worker has another pid ($new_pid)");

write_batch('fg1');
ok($node->poll_query_until('fg1', $all_folded), 'the restarted worker folds');
is($node->safe_psql('fg1', 'SELECT fluss_grid.wait_for_rollups()'),
	't', 'wait_for_rollups() true after the restart');

# the other database's worker was not disturbed
write_batch('fg2');
ok($node->poll_query_until('fg2', $all_folded),
	'the worker of fg2 folds too');

# ---------------------------------------------------------------------------
# fluss_grid.enabled = off keeps changes pending; on folds them

$node->safe_psql('postgres', 'ALTER SYSTEM SET fluss_grid.enabled = off');
$node->reload;
ok( $node->poll_query_until(
		'fg1', "SELECT current_setting('fluss_grid.enabled') = 'off'"),
	'fluss_grid.enabled is off after reload');

# The worker must have seen the reload before we write: wait until it has
# completed some passes after the reload (with enabled = off a pass folds
# nothing, and the worker keeps looping every 100 ms).
my $passes = $node->safe_psql('fg1',
	"SELECT passes FROM fluss_grid.workers() WHERE role = 'first' AND datname = 'fg1'");
ok( $node->poll_query_until(
		'fg1',
"SELECT passes >= $passes + 3 FROM fluss_grid.workers() WHERE role = 'first' AND datname = 'fg1'"
	),
	'the worker keeps running passes while disabled');

write_batch('fg1');
my $pending_before = pending('fg1');
ok($pending_before > 0, "changes pending while disabled ($pending_before)");
$passes = $node->safe_psql('fg1',
	"SELECT passes FROM fluss_grid.workers() WHERE role = 'first' AND datname = 'fg1'");
ok( $node->poll_query_until(
		'fg1',
"SELECT passes >= $passes + 5 FROM fluss_grid.workers() WHERE role = 'first' AND datname = 'fg1'"
	),
	'the worker ran several passes after the write');
is(pending('fg1'), $pending_before,
	'the changes are still pending while disabled');
is($node->safe_psql('fg1', rollup_matches_sql('m', '1 minute', 'm')),
	'f', 'the minutely rollup table lags while disabled');
is( $node->safe_psql(
		'fg1',
		rollup_matches_sql('m', '1 minute', 'm_realtime')
		  . ' AND ('
		  . rollup_matches_sql('h', '1 hour', 'h_realtime') . ')'),
	't',
	'_realtime views are exact while disabled');

$node->safe_psql('postgres', 'ALTER SYSTEM RESET fluss_grid.enabled');
$node->reload;
ok( $node->poll_query_until('fg1', $all_folded),
	'changes are folded once enabled again');

# ---------------------------------------------------------------------------
# a commit wakes the worker: with an hour-long naptime, changes are still
# folded at once

$node->safe_psql('postgres', "ALTER SYSTEM SET fluss_grid.naptime = '1h'");
$node->reload;
ok( $node->poll_query_until(
		'fg1', "SELECT current_setting('fluss_grid.naptime') = '1h'"),
	'fluss_grid.naptime is 1h after reload');
# let the worker pass through its current (short) sleep and see the reload
write_batch('fg1');
ok($node->poll_query_until('fg1', $all_folded),
	'folded after the naptime change');
$passes = $node->safe_psql('fg1',
	"SELECT passes FROM fluss_grid.workers() WHERE role = 'first' AND datname = 'fg1'");
my $t0 = time();
write_batch('fg1');
ok($node->poll_query_until('fg1', $all_folded),
	'a commit wakes the worker despite the hour-long naptime');
my $elapsed = time() - $t0;
ok($elapsed < 10, sprintf('folded %.2f s after the commit', $elapsed));

# lowering the naptime again takes effect at once: an idle worker wakes
# every second (fluss_grid.naptime = 1000 in postgresql.conf)
$node->safe_psql('postgres', 'ALTER SYSTEM RESET fluss_grid.naptime');
$node->reload;
ok( $node->poll_query_until(
		'fg1', "SELECT current_setting('fluss_grid.naptime') = '1s'"),
	'fluss_grid.naptime back to 1s after reload');
$passes = $node->safe_psql('fg2',
	"SELECT passes FROM fluss_grid.workers() WHERE role = 'first' AND datname = 'fg2'");
ok( fg_poll_until(
		$node, 'fg2',
"SELECT passes >= $passes + 3 FROM fluss_grid.workers() WHERE role = 'first' AND datname = 'fg2'",
		15),
	'an idle worker wakes every new naptime after the naptime is lowered')
  or diag(
'the worker must read fluss_grid.naptime after processing the reload, not before'
  );

# ---------------------------------------------------------------------------
# DROP EXTENSION: the worker leaves; CREATE EXTENSION brings it back

my $fg2_pid = fg_worker_pid($node, 'fg2');
$node->safe_psql('fg2', 'DROP EXTENSION fluss_grid CASCADE');
ok(fg_poll_until($node, 'postgres', fg_workers_sql('fg2', 0), 30),
	'worker exits after DROP EXTENSION');
is( $node->safe_psql(
		'fg2',
		"SELECT count(*) FROM pg_trigger WHERE tgname LIKE '\\_fg\\_%'"),
	'0',
	'DROP EXTENSION CASCADE removed the capture triggers');
is($node->safe_psql('fg2', "SELECT count(*) > 0 FROM m"),
	't', 'rollup tables stay as plain tables');
ok(fg_worker_pid($node, 'fg1') =~ /^\d+$/, 'the worker of fg1 still runs');

# writes into fg2 now capture nothing and start no worker
$node->safe_psql('fg2',
"INSERT INTO src (ts, region, v) VALUES ('2024-03-10 15:00:00+00', 'r0', 1)"
);

$node->safe_psql('fg2', 'CREATE EXTENSION fluss_grid');
ok($node->poll_query_until('postgres', fg_workers_sql('fg2', 1)),
	'CREATE EXTENSION starts the worker again');

# ---------------------------------------------------------------------------
# database-level commands while workers run

$node->safe_psql('postgres', 'CREATE DATABASE fg3');
$node->safe_psql('fg3', $FG_ROLLUPS);
ok($node->poll_query_until('postgres', fg_workers_sql('fg3', 1)),
	'worker of fg3 runs');

my ($ret, $out, $err) =
  $node->psql('postgres', 'ALTER DATABASE fg3 RENAME TO fg3_renamed');
is($ret, 0, 'ALTER DATABASE RENAME works while the worker runs')
  or diag($err);
write_batch('fg3_renamed');
ok($node->poll_query_until('fg3_renamed', $all_folded),
	'a worker folds in the renamed database');

($ret, $out, $err) =
  $node->psql('postgres', 'CREATE DATABASE fg4 TEMPLATE fg3_renamed');
is($ret, 0, 'CREATE DATABASE ... TEMPLATE works while the worker runs')
  or diag($err);
write_batch('fg4');
ok( $node->poll_query_until('fg4', $all_folded),
	'the copy has a worker that folds');

($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE fg3_renamed');
is($ret, 0, 'DROP DATABASE works while the worker runs') or diag($err);
($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE fg4');
is($ret, 0, 'DROP DATABASE of the copy works') or diag($err);

# ---------------------------------------------------------------------------
# housekeeping: the worker vacuums the changelogs it drains, and summarizes
# the BRIN index create_rollup put on the source (a bulk load overflows
# autovacuum's work-item queue, and unsummarized ranges match every query)

$node->safe_psql(
	'fg1', q{
CREATE TABLE hk_raw (ts timestamptz NOT NULL, k int, v float8);
SELECT fluss_grid.create_rollup(name => 'hk_m', source => 'hk_raw',
    time_column => 'ts', bucket => interval '1 minute', group_by => ARRAY['k'],
    aggregates => ARRAY['count(*) AS n', 'max(v)']);
INSERT INTO hk_raw SELECT timestamptz '2026-01-01' + g * interval '10 ms', g % 7, g
  FROM generate_series(1, 300000) g;
});
# more one-row transactions than the worker's vacuum threshold (2,000),
# a second apart from midnight of $day on
sub hk_one_row_commits
{
	my ($day) = @_;
	$node->safe_psql(
		'fg1', qq{
DO \$\$ BEGIN
  FOR i IN 1 .. 3000 LOOP
    INSERT INTO hk_raw VALUES (timestamptz '$day' + i * interval '1 s', i % 7, i);
    COMMIT;
  END LOOP;
END \$\$;
});
}
hk_one_row_commits('2026-01-02');
is($node->safe_psql('fg1', 'SELECT fluss_grid.wait_for_rollups()'),
	't', 'housekeeping rollup folded');
my $hk_delta = $node->safe_psql('fg1',
	"SELECT 'fluss_grid.changelog_' || id FROM fluss_grid.rollup WHERE rollup_rel = 'hk_m'::regclass"
);
ok( fg_poll_until(
		$node, 'fg1',
		"SELECT vacuum_count > 0 FROM pg_stat_user_tables WHERE relid = '$hk_delta'::regclass",
		60),
	'the worker vacuums the changelog it drains');
# a changelog another session holds (a VACUUM, autovacuum, a LOCK) is
# skipped silently and vacuumed once it is free: no WARNING "skipping
# vacuum ... lock not available" in the server log at every try
my $hk_id = $node->safe_psql('fg1',
	"SELECT id FROM fluss_grid.rollup WHERE rollup_rel = 'hk_m'::regclass");
$node->safe_psql('postgres',
	'ALTER SYSTEM SET fluss_grid.log_level = log; SELECT pg_reload_conf()');
my $hk_vacuums = $node->safe_psql('fg1',
	"SELECT vacuum_count FROM pg_stat_user_tables WHERE relid = '$hk_delta'::regclass");
my $hk_lock = $node->background_psql('fg1', on_error_stop => 1);
$hk_lock->query_safe("BEGIN; LOCK TABLE $hk_delta IN SHARE UPDATE EXCLUSIVE MODE");
my $log_offset = -s $node->logfile;
hk_one_row_commits('2026-01-03');
is($node->safe_psql('fg1', 'SELECT fluss_grid.wait_for_rollups()'),
	't', 'housekeeping rollup folded while its changelog is locked');
$node->wait_for_log(qr/finished "vacuuming a changelog" for rollup $hk_id\b/, $log_offset);
ok(!$node->log_contains(qr/skipping vacuum/, $log_offset),
	'a changelog VACUUM that finds the table locked warns nothing');
is( $node->safe_psql('fg1',
		"SELECT vacuum_count FROM pg_stat_user_tables WHERE relid = '$hk_delta'::regclass"),
	$hk_vacuums, 'the locked changelog was not vacuumed');
$hk_lock->query_safe('COMMIT');
$hk_lock->quit;
ok( fg_poll_until(
		$node, 'fg1',
		"SELECT vacuum_count > $hk_vacuums FROM pg_stat_user_tables WHERE relid = '$hk_delta'::regclass",
		60),
	'the changelog is vacuumed once it is free');
$node->safe_psql('postgres',
	'ALTER SYSTEM RESET fluss_grid.log_level; SELECT pg_reload_conf()');
# a changelog drained after a bulk load is truncated, not kept at its
# largest size (every fold and fluss_grid.rollups would read its empty pages)
$node->safe_psql(
	'fg1', q{
CREATE TABLE hk_wide (ts timestamptz NOT NULL, k int, v float8);
SELECT fluss_grid.create_rollup(name => 'hk_wide_m', source => 'hk_wide',
    time_column => 'ts', bucket => interval '1 minute', group_by => ARRAY['k'],
    aggregates => ARRAY['count(*) AS n', 'max(v)']);
});
my $wide_delta = $node->safe_psql('fg1',
	"SELECT 'fluss_grid.changelog_' || id FROM fluss_grid.rollup WHERE rollup_rel = 'hk_wide_m'::regclass"
);
# (autovacuum, which may truncate too, is kept out: this is the worker's job)
$node->safe_psql(
	'fg1', qq{
ALTER TABLE $wide_delta SET (autovacuum_enabled = false);
INSERT INTO hk_wide SELECT timestamptz '2026-01-01', g, g FROM generate_series(1, 100000) g;
});
is($node->safe_psql('fg1', 'SELECT fluss_grid.wait_for_rollups()'),
	't', 'a 100,000-group batch folded');
ok( fg_poll_until(
		$node, 'fg1', "SELECT pg_relation_size('$wide_delta') < 1024 * 1024", 60),
	'the drained changelog of a bulk load is truncated')
  or diag('changelog size: ' . $node->safe_psql('fg1', "SELECT pg_relation_size('$wide_delta')"));
# a one-minute range reads a few block ranges of the source, not all of it
$node->safe_psql(
	'fg1', q{
CREATE FUNCTION hk_lossy() RETURNS int LANGUAGE plpgsql AS $$
DECLARE j json;
BEGIN
  SET LOCAL enable_seqscan = off;
  EXECUTE $q$EXPLAIN (ANALYZE, FORMAT JSON) SELECT count(*) FROM hk_raw
    WHERE ts >= '2026-01-01 00:10' AND ts < '2026-01-01 00:11'$q$ INTO j;
  RETURN (j->0->'Plan'->'Plans'->0->>'Lossy Heap Blocks')::int;
END $$;
});
ok( fg_poll_until($node, 'fg1', 'SELECT hk_lossy() < 300', 60),
	'the source BRIN index is summarized: a minute reads a few block ranges')
  or diag('lossy heap blocks: ' . $node->safe_psql('fg1', 'SELECT hk_lossy()'));

# ---------------------------------------------------------------------------
# the server log holds no worker crash

$node->stop;
my $log = slurp_file($node->logfile);
unlike(
	$log,
	qr/(terminated by signal|server process .* was terminated|PANIC)/,
	'no process crashed');

done_testing();
