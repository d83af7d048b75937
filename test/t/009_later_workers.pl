
# Copyright (c) fluss_grid contributors

# The later workers: a database whose folds split into stages gets a
# second worker ("fluss_grid second worker"), and with all three stages a
# third ("fluss_grid third worker"), started by the first one.  With
# rollups only, the second folds the rollups of rollups; once the database
# also has a transform, the first worker folds the transform, the second
# the rollups of tables and the third the rollups of rollups.
# fluss_grid.workers() lists them with their roles; the workers before
# fold a later worker's stages while it is gone (terminated,
# fluss_grid.workers_per_database lowered) and the first starts it again;
# a later worker leaves when nothing is left to split.  Through all of it,
# a stream of inserts, updates and deletes keeps every level equal to a
# GROUP BY over the source after wait_for_rollups(), and the later stages
# keep up without wait_for_rollups too.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use FlussGridTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = fg_node('second',
	conf => "fluss_grid.log_level = log\nfluss_grid.upper_fold_interval = 200\n"
	  . "restart_after_crash = on\n");

$node->safe_psql('postgres', $FG_ROLLUPS);
$node->safe_psql('postgres', q{
	SELECT fluss_grid.create_rollup(name => 'd', source => 'h', bucket => interval '1 day');
});

my $second_sql = "SELECT count(*) = 1 FROM pg_stat_activity"
  . " WHERE backend_type = 'fluss_grid second worker' AND datname = 'postgres'";
my $no_second_sql = "SELECT count(*) = 0 FROM pg_stat_activity"
  . " WHERE backend_type = 'fluss_grid second worker'";
my $third_sql = "SELECT count(*) = 1 FROM pg_stat_activity"
  . " WHERE backend_type = 'fluss_grid third worker' AND datname = 'postgres'";
my $no_third_sql = "SELECT count(*) = 0 FROM pg_stat_activity"
  . " WHERE backend_type = 'fluss_grid third worker'";

sub second_pid
{
	return $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'fluss_grid second worker'");
}

sub third_pid
{
	return $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'fluss_grid third worker'");
}

# every level equals a GROUP BY over src (the daily one included)
my $all_match = 'SELECT ('
  . join(') AND (',
	fg_matches_sql('m', '1 minute'),
	fg_matches_sql('h', '1 hour'),
	fg_matches_sql('d', '1 day'),
	fg_matches_sql('h_realtime', '1 hour'),
	fg_matches_sql('d_realtime', '1 day'))
  . ')';

my $batch = 0;

# a few transactions: new rows over three days, an update that moves rows
# to another hour and region, a delete
sub write_batches
{
	my ($n) = @_;
	for (1 .. $n)
	{
		$batch++;
		$node->safe_psql('postgres', qq{
			INSERT INTO src (ts, region, v)
			SELECT timestamptz '2024-07-01 00:00+00' + (random() * 3 * 86400) * interval '1 second',
			       'r' || (g % 5), (random() * 1000)::int
			  FROM generate_series(1, 200) g;
			UPDATE src SET ts = ts + interval '70 minutes', region = 'r' || ((id + $batch) % 5),
			               v = v + 1
			 WHERE id % 37 = $batch % 37;
			DELETE FROM src WHERE id % 53 = $batch % 53;
		});
	}
}

sub wait_ok
{
	my ($what) = @_;
	is($node->safe_psql('postgres', "SELECT fluss_grid.wait_for_rollups('60 s')"),
		't', "wait_for_rollups() returns true $what");
}

# --- rollups only: the second worker takes the rollups of rollups ------------
ok(fg_poll_until($node, 'postgres', $second_sql, 30),
	'a database with rollups of rollups gets a second worker');
is( $node->safe_psql('postgres',
		"SELECT string_agg(role, ',' ORDER BY role) FROM fluss_grid.workers() WHERE datname = 'postgres'"),
	'first,second',
	'fluss_grid.workers() lists both workers with their roles');
ok($node->safe_psql('postgres', $no_third_sql) eq 't',
	'no third worker without a transform (two stages)');

write_batches(10);
wait_ok('with two workers');
is($node->safe_psql('postgres', $all_match), 't',
	'every level equals a GROUP BY over the source');
like(slurp_file($node->logfile), qr/fluss_grid second worker's pass folded \d+ changes/,
	'the second worker folds');

# --- without wait_for_rollups: the later stage catches up by itself -----------
write_batches(5);
ok( fg_poll_until($node, 'postgres',
		"SELECT ($all_match) AND (SELECT coalesce(sum(pending_changes), 0) = 0 FROM fluss_grid.rollups)",
		60),
	'the rollups of rollups catch up without wait_for_rollups()');

# --- terminated: the first worker folds everything, then restarts it ----------
my $pid = second_pid();
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
write_batches(5);
wait_ok('after the second worker was terminated');
is($node->safe_psql('postgres', $all_match), 't',
	'every level still equals a GROUP BY over the source');
ok( fg_poll_until($node, 'postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'fluss_grid second worker'"
		  . " AND pid <> $pid", 30),
	'the first worker starts the second worker again');

# --- switched off: the first worker folds everything ---------------------------
$node->safe_psql('postgres', 'ALTER SYSTEM SET fluss_grid.workers_per_database = 1');
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
ok(fg_poll_until($node, 'postgres', $no_second_sql, 30),
	'fluss_grid.workers_per_database = 1 stops the second worker');
write_batches(5);
wait_ok('with the first worker alone');
is($node->safe_psql('postgres', $all_match), 't',
	'the first worker alone keeps every level exact');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET fluss_grid.workers_per_database');
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
ok(fg_poll_until($node, 'postgres', $second_sql, 30),
	'switched on again, the second worker comes back');

for (1 .. 5)
{
	write_batches(2);
	wait_ok("round $_");
	is($node->safe_psql('postgres', $all_match), 't', "every level exact after round $_");
}

# --- with a transform: the first worker folds it, the second the rollups of ----
# --- tables, the third the rollups of rollups --------------------------------------
# src2 -> (newest version per key) t2 -> minutely rollup t2m and its hourly t2h
$node->safe_psql('postgres', q{
	CREATE TABLE src2 (k int NOT NULL, ver bigint NOT NULL, ts timestamptz NOT NULL,
	                   region text NOT NULL, v integer);
	SELECT fluss_grid.create_transform('t2', 'src2', ARRAY['k'], 'ver',
	    ARRAY['r.ts', 'r.region', 'r.v']);
	SELECT fluss_grid.create_rollup('t2m', 't2', 'ts', interval '1 minute',
	    ARRAY['region'], ARRAY['count(*) AS n', 'sum(v)', 'min(v)', 'max(v)']);
	SELECT fluss_grid.create_rollup(name => 't2h', source => 't2m', bucket => interval '1 hour');
});
my $t2_match = 'SELECT ('
  . join(') AND (',
	fg_matches_sql('t2m', '1 minute', src => 't2'),
	fg_matches_sql('t2h', '1 hour', src => 't2'),
	# t2 holds the newest version of every key of src2
	"SELECT NOT EXISTS (SELECT k, ts, region, v FROM t2 EXCEPT ALL
	     (SELECT DISTINCT ON (k) k, ts, region, v FROM src2 ORDER BY k, ver DESC))
	  AND NOT EXISTS ((SELECT DISTINCT ON (k) k, ts, region, v FROM src2 ORDER BY k, ver DESC)
	     EXCEPT ALL SELECT k, ts, region, v FROM t2)")
  . ')';
my $settled;
for my $round (1 .. 4)
{
	$node->safe_psql('postgres', qq{
		INSERT INTO src2
		SELECT (random() * 300)::int, $round * 1000 + g,
		       timestamptz '2024-07-01 00:00+00' + (random() * 86400) * interval '1 second',
		       'r' || (g % 3), (random() * 100)::int
		  FROM generate_series(1, 300) g;
		DELETE FROM src2 WHERE k % 17 = $round;
	});
	write_batches(1);
	wait_ok("with a transform, round $round");
	# the cuts have moved once every worker has passed since the transform
	# came: a later worker's pass still under the old cut (started before
	# it saw the new stages) may fold what is now another's, as designed
	$settled = -s $node->logfile if $round == 1;
	is($node->safe_psql('postgres', "SELECT ($all_match) AND ($t2_match)"), 't',
		"transform, its rollups and the other rollups exact, round $round");
}
ok($node->safe_psql('postgres', $third_sql) eq 't', 'with three stages, a third worker runs');
is( $node->safe_psql('postgres',
		"SELECT string_agg(role, ',' ORDER BY role) FROM fluss_grid.workers() WHERE datname = 'postgres'"),
	'first,second,third',
	'fluss_grid.workers() lists the three workers with their roles');
# the cuts moved: the first worker folded the transform, the second the
# rollups of tables, the third the rollups of rollups (the log's prefix
# carries the pid)
{
	my $first = $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'fluss_grid worker'");
	my $second = second_pid();
	my $third = third_pid();
	my $tid = $node->safe_psql('postgres',
		"SELECT id FROM fluss_grid.transform WHERE target_rel = 't2'::regclass");
	my $rid = $node->safe_psql('postgres',
		"SELECT id FROM fluss_grid.rollup WHERE rollup_rel = 't2m'::regclass");
	my $hid = $node->safe_psql('postgres',
		"SELECT id FROM fluss_grid.rollup WHERE rollup_rel = 't2h'::regclass");
	my $log = slurp_file($node->logfile);
	like($log, qr/\[$first\] LOG:  fluss_grid folded \d+ changes into transform $tid /,
		'the first worker folds the transform');
	like($log, qr/\[$second\] LOG:  fluss_grid folded \d+ changes into rollup $rid /,
		'the second worker folds the rollup of its target');
	like($log, qr/\[$third\] LOG:  fluss_grid folded \d+ changes into rollup $hid /,
		'the third worker folds the rollup of that rollup');
	my $since = substr($log, $settled);
	unlike($since, qr/\[$second\] LOG:  fluss_grid folded \d+ changes into (transform|rollup $hid )/,
		'the second worker folds neither the transform nor the upper level');
	unlike($since, qr/\[$third\] LOG:  fluss_grid folded \d+ changes into (transform|rollup $rid )/,
		'the third worker folds neither the transform nor the first level');
	# the chores of the first worker's folds are handed to the third
	like($log, qr/\[$third\] LOG:  fluss_grid finished "vacuuming a changelog" for rollup $tid /,
		'the third worker vacuums the changelog of the transform the first one folds');
}

# --- pacing: a fold of the first worker ends the second worker's wait --------
# Single-row commits into src (folded by the second worker) and src2 (by
# the first): after a pass in which commits kept coming, the second worker
# waits to batch more (with worker_share 1, a hundred times its pass, up
# to a second), but each fold of the transform by the first worker ends
# that wait, so its target's rollup follows at once.
$node->safe_psql('postgres', 'ALTER SYSTEM SET fluss_grid.worker_share = 1');
$node->safe_psql('postgres', 'ALTER SYSTEM SET fluss_grid.max_batch_wait = 1000');
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
{
	my $mark = -s $node->logfile;
	my $second = second_pid();
	my $ended = qr/\[$second\] LOG:  fluss_grid second worker's wait ended \d+ ms early by a fold of an earlier worker/;
	my $seen = 0;
	# (a second of commits at a time, until the log shows it)
	for my $round (1 .. 20)
	{
		$node->safe_psql('postgres', qq{
			DO \$\$
			DECLARE t0 timestamptz := clock_timestamp();
			BEGIN
			    FOR i IN 1 .. 100000 LOOP
			        EXIT WHEN clock_timestamp() > t0 + interval '1 second';
			        INSERT INTO src (ts, region, v)
			        VALUES (timestamptz '2024-07-02 00:00+00' + i * interval '1 second', 'r' || (i % 5), i);
			        INSERT INTO src2 VALUES (i % 300, 200000 + $round * 100000 + i,
			                                 timestamptz '2024-07-01 00:00+00' + i * interval '1 second',
			                                 'r' || (i % 3), i % 100);
			        COMMIT;
			        PERFORM pg_sleep(0.0002);
			    END LOOP;
			END
			\$\$;
		});
		$seen = (substr(slurp_file($node->logfile), $mark) =~ $ended);
		last if $seen;
	}
	ok($seen, "a fold of the first worker ends the second worker's wait");
	wait_ok('after a stream of single-row commits');
	is($node->safe_psql('postgres', "SELECT ($all_match) AND ($t2_match)"), 't',
		'every level exact after a stream of single-row commits');
}
$node->safe_psql('postgres', 'ALTER SYSTEM RESET fluss_grid.worker_share');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET fluss_grid.max_batch_wait');
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');

# --- the third worker terminated, then not allowed: the second folds its stage ---
{
	my $third = third_pid();
	$node->safe_psql('postgres', "SELECT pg_terminate_backend($third)");
	write_batches(2);
	$node->safe_psql('postgres', "INSERT INTO src2 VALUES (1, 99001, '2024-07-01 05:00+00', 'r1', 5)");
	wait_ok('after the third worker was terminated');
	is($node->safe_psql('postgres', "SELECT ($all_match) AND ($t2_match)"), 't',
		'every level exact without the third worker');
	ok( fg_poll_until($node, 'postgres', "$third_sql AND NOT EXISTS (SELECT 1 FROM pg_stat_activity"
			  . " WHERE pid = $third)", 30),
		'the first worker starts the third worker again');
	$node->safe_psql('postgres', 'ALTER SYSTEM SET fluss_grid.workers_per_database = 2');
	$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
	ok(fg_poll_until($node, 'postgres', $no_third_sql, 30),
		'fluss_grid.workers_per_database = 2 stops the third worker');
	write_batches(2);
	$node->safe_psql('postgres', "UPDATE src2 SET v = v + 1 WHERE k % 5 = 0");
	wait_ok('with two workers and three stages');
	is($node->safe_psql('postgres', "SELECT ($all_match) AND ($t2_match)"), 't',
		'every level exact with the second worker folding the upper levels');
	$node->safe_psql('postgres', 'ALTER SYSTEM RESET fluss_grid.workers_per_database');
	$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
	ok(fg_poll_until($node, 'postgres', $third_sql, 30), 'allowed again, the third worker comes back');
	write_batches(2);
	wait_ok('with three workers again');
	is($node->safe_psql('postgres', "SELECT ($all_match) AND ($t2_match)"), 't',
		'every level exact with three workers again');
}

# --- kill -9 of a later worker while changes are pending: the postmaster ------
# --- restarts every process; nothing lost, nothing counted twice -------------
my $ver = 99100;
for my $victim ('third', 'second')
{
	my $pid = $victim eq 'third' ? third_pid() : second_pid();
	ok($pid =~ /^\d+$/, "the $victim worker runs (pid $pid)");
	write_batches(1);
	$node->safe_psql('postgres', qq{
		INSERT INTO src2
		SELECT (random() * 300)::int, $ver + g,
		       timestamptz '2024-07-01 00:00+00' + (random() * 86400) * interval '1 second',
		       'r' || (g % 3), (random() * 100)::int
		  FROM generate_series(1, 300) g;
		UPDATE src2 SET v = v + 1 WHERE k % 11 = 0;
	});
	$ver += 1000;
	kill 'KILL', $pid;
	fg_wait_after_crash($node, $pid)
	  or die "the server did not come back after kill -9 of the $victim worker";
	ok(fg_poll_until($node, 'postgres', $third_sql, 60),
		"after kill -9 of the $victim worker, the workers run again");
	wait_ok("after kill -9 of the $victim worker");
	is($node->safe_psql('postgres', "SELECT ($all_match) AND ($t2_match)"), 't',
		"every level exact after kill -9 of the $victim worker");
}

# --- nothing left to split: the second worker leaves -------------------------
$node->safe_psql('postgres', q{
	SELECT fluss_grid.drop_rollup('t2m', cascade => true);
	SELECT fluss_grid.drop_transform('t2');
	SELECT fluss_grid.drop_rollup('h', cascade => true);
});
ok(fg_poll_until($node, 'postgres', "SELECT ($no_second_sql) AND ($no_third_sql)", 30),
	'the later workers leave when nothing is left to split');
write_batches(2);
wait_ok('with the first worker alone again');
is($node->safe_psql('postgres', fg_matches_sql('m', '1 minute')), 't',
	'the minutely rollup is still exact');

$node->stop;
done_testing();
