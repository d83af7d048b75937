
# Copyright (c) fluss_grid contributors

# pg_dump of a database with rollups, including changes not yet folded,
# restores into a fresh database of a fresh cluster and keeps folding.
#
# The old cluster holds a plain source (with a primary key) under a
# minutely and an hourly rollup, a partitioned source (also with a primary
# key) under a minutely rollup, and an unrelated table "bulk" whose data
# pg_dump places between the catalog fluss_grid.rollup and the rollup
# tables.  With fluss_grid.enabled = off a batch of INSERT/UPDATE/DELETE
# stays pending in the changelogs, and the database is dumped in custom and
# in plain format.  The new cluster runs its workers with a 10 ms naptime,
# so a worker may fold at any moment of a restore.  Five restores into
# fresh databases:
#   custom   pg_restore of the whole custom dump
#   plain    psql -f of the plain dump
#   parallel pg_restore -j 4 of the custom dump
#   sections pg_restore --section=pre-data, a worker confirmed running,
#            then --section=data and --section=post-data
#   split    like sections, but post-data in two steps: the capture
#            triggers on the minutely rollup (feeding the hourly one) last,
#            with a chance for the worker to fold in between
# In each: no error is reported; a worker runs for the database without
# being asked; every capture trigger exists once (the row trigger still
# ENABLE REPLICA, the truncate trigger ALWAYS); the rollups keep their
# unique index and the sources their primary key; _realtime views are
# exact at once; wait_for_rollups() is true and the rollups equal a
# from-scratch GROUP BY (the pending changes folded exactly once); new
# writes keep folding; a new rollup gets a fresh id.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use FlussGridTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $conf = qq{
# the comparison queries over _realtime views cross jit_above_cost and
# would spend ~0.5 s each compiling
jit = off
};

my $old = fg_node('dump_old', conf => $conf);

# ---------------------------------------------------------------------------
# comparison with a from-scratch GROUP BY

# a query returning true when relation $rel (bucket width $bucket) equals a
# GROUP BY over source $src
sub matches_sql
{
	my ($rel, $src, $bucket) = @_;
	return fg_matches_sql($rel, $bucket, src => $src, avg => 1);
}

# every rollup and _realtime view of the database, as one query
my @checks = (
	[ 'm',  'src',  '1 minute' ],
	[ 'h',  'src',  '1 hour' ],
	[ 'pm', 'psrc', '1 minute' ],);
my $all_match = 'SELECT '
  . join(' AND ',
	map { my ($r, $s, $b) = @$_; '(' . matches_sql($r, $s, $b) . ') AND (' . matches_sql("${r}_realtime", $s, $b) . ')' }
	  @checks);
my $rt_match = 'SELECT '
  . join(' AND ',
	map { my ($r, $s, $b) = @$_; '(' . matches_sql("${r}_realtime", $s, $b) . ')' } @checks);

sub pending
{
	my ($node, $db) = @_;
	return $node->safe_psql($db,
		'SELECT coalesce(sum(pending_changes), 0) FROM fluss_grid.rollups');
}

my $batch = 0;

# a batch of inserts into both sources, with updates and deletes of earlier
# rows (also of extremes)
sub write_batch
{
	my ($node, $db) = @_;
	$batch++;
	$node->safe_psql(
		$db, qq{
		INSERT INTO src (ts, region, v)
		SELECT '2024-03-10 15:00:00+00'::timestamptz + (g * 7 + $batch) * interval '1 second',
		       'r' || (g % 3), (g * 31 + $batch) % 1000
		  FROM generate_series(1, 400) g;
		UPDATE src SET v = v + 1000 WHERE id % 17 = $batch % 17;
		DELETE FROM src WHERE id % 23 = $batch % 23;
		DELETE FROM src WHERE v = (SELECT max(v) FROM src);
		INSERT INTO psrc (ts, region, v)
		SELECT '2024-03-10 23:30:00+00'::timestamptz + (g * 11 + $batch) * interval '1 second',
		       'p' || (g % 2), (g * 17 + $batch) % 500
		  FROM generate_series(1, 400) g;
		UPDATE psrc SET v = v + 500 WHERE id % 13 = $batch % 13;
		DELETE FROM psrc WHERE id % 19 = $batch % 19;
	});
}

# ---------------------------------------------------------------------------
# the database to dump

$old->safe_psql('postgres', 'CREATE DATABASE grid');
$old->safe_psql(
	'grid', q{
	CREATE EXTENSION fluss_grid;
	CREATE TABLE src (id bigserial PRIMARY KEY, ts timestamptz,
	                  region text NOT NULL, v integer);
	CREATE TABLE psrc (id bigserial, ts timestamptz NOT NULL,
	                   region text NOT NULL, v integer,
	                   PRIMARY KEY (id, ts)) PARTITION BY RANGE (ts);
	CREATE TABLE psrc_10 PARTITION OF psrc
	    FOR VALUES FROM ('2024-03-10 00:00:00+00') TO ('2024-03-11 00:00:00+00');
	CREATE TABLE psrc_11 PARTITION OF psrc
	    FOR VALUES FROM ('2024-03-11 00:00:00+00') TO ('2024-03-12 00:00:00+00');
	-- restored after fluss_grid.rollup and before the rollup tables
	CREATE TABLE bulk (id integer PRIMARY KEY, note text);
	INSERT INTO bulk SELECT g, repeat('x', 40) FROM generate_series(1, 300000) g;
});
write_batch($old, 'grid');
$old->safe_psql(
	'grid', q{
	SELECT fluss_grid.create_rollup('m', 'src', 'ts', interval '1 minute',
	    ARRAY['region'],
	    ARRAY['count(*) AS n', 'sum(v)', 'min(v)', 'max(v)', 'avg(v)']);
	SELECT fluss_grid.create_rollup(name => 'h', source => 'm',
	                                bucket => interval '1 hour');
	SELECT fluss_grid.create_rollup('pm', 'psrc', 'ts', interval '1 minute',
	    ARRAY['region'],
	    ARRAY['count(*) AS n', 'sum(v)', 'min(v)', 'max(v)', 'avg(v)']);
});
write_batch($old, 'grid');
is($old->safe_psql('grid', 'SELECT fluss_grid.wait_for_rollups()'),
	't', 'old cluster: wait_for_rollups() true');
is($old->safe_psql('grid', $all_match),
	't', 'old cluster: rollups equal GROUP BY');

# keep the next changes pending: the worker stops folding
$old->safe_psql('postgres', 'ALTER SYSTEM SET fluss_grid.enabled = off');
$old->reload;
ok( $old->poll_query_until('grid', "SELECT current_setting('fluss_grid.enabled') = 'off'"),
	'old cluster: fluss_grid.enabled is off');
my $passes = $old->safe_psql('grid',
	"SELECT passes FROM fluss_grid.workers() WHERE role = 'first' AND datname = 'grid'");
ok( $old->poll_query_until('grid',
		"SELECT passes >= $passes + 3 FROM fluss_grid.workers() WHERE role = 'first' AND datname = 'grid'"),
	'old cluster: the worker has seen the reload');

write_batch($old, 'grid');
write_batch($old, 'grid');
my $pending = pending($old, 'grid');
ok($pending > 0, "old cluster: changes pending at dump time ($pending)");
is($old->safe_psql('grid', matches_sql('m', 'src', '1 minute')),
	'f', 'old cluster: the minutely rollup table lags (the dump holds pending changes)');
is($old->safe_psql('grid', $rt_match), 't',
	'old cluster: _realtime views are exact');
my $ids_old = $old->safe_psql('grid',
	"SELECT string_agg(id || ':' || rollup_rel::text, ',' ORDER BY id) FROM fluss_grid.rollup");

my $tempdir = PostgreSQL::Test::Utils::tempdir;
my $dump_custom = "$tempdir/grid.dump";
my $dump_plain = "$tempdir/grid.sql";
$old->command_ok([ 'pg_dump', '-Fc', '-f', $dump_custom, '-d', 'grid' ],
	'pg_dump, custom format');
$old->command_ok([ 'pg_dump', '-Fp', '-f', $dump_plain, '-d', 'grid' ],
	'pg_dump, plain format');
is(pending($old, 'grid'), $pending, 'old cluster: still pending after the dumps');
$old->stop;

# ---------------------------------------------------------------------------
# a fresh cluster

my $new = fg_node('dump_new', conf => $conf . "fluss_grid.naptime = 10\n");

# poll QUERY in DB until it returns 't', at most SECONDS seconds
sub poll_for
{
	my ($db, $query, $seconds) = @_;
	return fg_poll_until($new, $db, $query, $seconds);
}

# run a client program against the new cluster; its stderr
sub run_client
{
	my @cmd = @_;
	my ($out, $err) = run_command([ @cmd, '-h', $new->host, '-p', $new->port ]);
	return $err;
}

# the ERROR lines of a client's stderr, with the statement that failed
sub errors_of
{
	my ($err) = @_;
	my @lines = split /\n/, $err;
	my @keep;
	for my $i (0 .. $#lines)
	{
		push @keep, $lines[$i]
		  if $lines[$i] =~ /ERROR|FATAL|^\s*DETAIL|Command was/;
	}
	return join("\n", @keep);
}

my $worker_in_db =
  "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'fluss_grid worker' AND datname = current_database()";

# on failure: which relation differs, and the rollup status
sub diag_mismatch
{
	my ($db) = @_;
	for my $c (@checks)
	{
		my ($r, $src, $b) = @$c;
		for my $rel ($r, "${r}_realtime")
		{
			diag("$rel matches: " . $new->safe_psql($db, matches_sql($rel, $src, $b)));
		}
	}
	diag($new->safe_psql($db,
			'SELECT name, pending_changes, folds, last_fold, last_error FROM fluss_grid.rollups'));
	return;
}

# check_restored DB HOW: everything a restored database must satisfy
sub check_restored
{
	my ($db, $how) = @_;

	ok(poll_for($db, $worker_in_db, 15),
		"$how: a worker runs for the restored database without being asked");
	# go on with a worker in any case
	$new->safe_psql($db, 'SELECT fluss_grid.start_worker()');
	ok(poll_for($db, $worker_in_db, 15),
		"$how: a worker runs after fluss_grid.start_worker()");

	is($new->safe_psql($db,
			"SELECT string_agg(id || ':' || rollup_rel::text, ',' ORDER BY id) FROM fluss_grid.rollup"),
		$ids_old, "$how: the catalog names the restored rollups");

	# each capture trigger exactly once, enabled as the engine made it
	my $triggers = $new->safe_psql(
		$db, q{
		SELECT string_agg(format('%s.%s=%s', tgrelid::regclass, tgname, tgenabled), ' '
		                  ORDER BY tgrelid::regclass::text, tgname)
		  FROM pg_trigger WHERE tgname LIKE '\_fg\_%' AND NOT tgisinternal});
	my %want = (
		src     => [ 1, 'del', 'ins', 'row', 'trunc', 'upd' ],
		m       => [ 2, 'del', 'ins', 'row', 'trunc', 'upd' ],
		psrc    => [ 3, 'del', 'ins', 'row', 'upd' ],
		psrc_10 => [ 3, 'del', 'ins', 'row', 'trunc', 'upd' ],
		psrc_11 => [ 3, 'del', 'ins', 'row', 'trunc', 'upd' ],);
	my @want;
	for my $rel (sort keys %want)
	{
		my ($id, @kinds) = @{ $want{$rel} };
		push @want,
		  map { "$rel._fg_capture_${id}_$_=" . ($_ eq 'row' ? 'R' : $_ eq 'trunc' ? 'A' : 'O') } @kinds;
	}
	is($triggers, join(' ', @want),
		"$how: every capture trigger exists once, enabled as the engine makes them (row: REPLICA, truncate: ALWAYS)");

	is( $new->safe_psql(
			$db, q{
			SELECT string_agg(c.relname || ':' || i.indisunique, ' ' ORDER BY c.relname)
			  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
			 WHERE c.relname IN ('m', 'h', 'pm', 'src', 'psrc', 'psrc_10', 'psrc_11')
			   AND i.indisunique}),
		'h:true m:true pm:true psrc:true psrc_10:true psrc_11:true src:true',
		"$how: rollups have their unique index, sources their primary key");

	is($new->safe_psql($db, $rt_match), 't',
		"$how: _realtime views equal GROUP BY");
	is($new->safe_psql($db, 'SELECT fluss_grid.wait_for_rollups()'),
		't', "$how: wait_for_rollups() true");
	is($new->safe_psql($db, $all_match), 't',
		"$how: rollups equal GROUP BY, pending changes folded exactly once")
	  or diag_mismatch($db);
	is(pending($new, $db), '0', "$how: nothing pending");

	write_batch($new, $db);
	is($new->safe_psql($db, 'SELECT fluss_grid.wait_for_rollups()'),
		't', "$how: wait_for_rollups() true after new writes");
	is($new->safe_psql($db, $all_match), 't',
		"$how: new writes keep folding")
	  or diag_mismatch($db);

	# the catalog's sequence was restored too: a new rollup gets a new id
	$new->safe_psql($db,
		"SELECT fluss_grid.create_rollup(name => 'd', source => 'h', bucket => interval '1 day')");
	is($new->safe_psql($db,
			"SELECT id FROM fluss_grid.rollup WHERE rollup_rel = 'd'::regclass"),
		'4', "$how: a new rollup gets the next id");
	is($new->safe_psql($db, matches_sql('d', 'src', '1 day')),
		't', "$how: the new rollup is backfilled exactly");
	return;
}

# custom format, pg_restore
$new->safe_psql('postgres', 'CREATE DATABASE grid_custom');
is(errors_of(run_client('pg_restore', '-d', 'grid_custom', $dump_custom)),
	'', 'custom format: pg_restore reports no error');
check_restored('grid_custom', 'custom format');

# plain format, psql
$new->safe_psql('postgres', 'CREATE DATABASE grid_plain');
is(errors_of(run_client('psql', '-X', '-q', '-d', 'grid_plain', '-f', $dump_plain)),
	'', 'plain format: psql reports no error');
check_restored('grid_plain', 'plain format');

# custom format, parallel pg_restore: data and post-data items interleave
# (a source's capture trigger may exist while a rollup table still loads)
$new->safe_psql('postgres', 'CREATE DATABASE grid_parallel');
is(errors_of(run_client('pg_restore', '-j', '4', '-d', 'grid_parallel', $dump_custom)),
	'', 'parallel: pg_restore -j 4 reports no error');
check_restored('grid_parallel', 'parallel');

# custom format by sections, with a worker surely running during the data
$new->safe_psql('postgres', 'CREATE DATABASE grid_sections');
is( errors_of(
		run_client('pg_restore', '--section=pre-data', '-d', 'grid_sections', $dump_custom)),
	'', 'sections: pre-data restored without error');
$new->safe_psql('grid_sections', 'SELECT fluss_grid.start_worker()');
ok(poll_for('grid_sections', $worker_in_db, 15),
	'sections: a worker runs before the data is restored');
is( errors_of(
		run_client('pg_restore', '--section=data', '-d', 'grid_sections', $dump_custom)),
	'', 'sections: data restored without error');
is( errors_of(
		run_client('pg_restore', '--section=post-data', '-d', 'grid_sections', $dump_custom)),
	'', 'sections: post-data restored without error');
check_restored('grid_sections', 'sections');

# post-data in two steps: first everything but the capture triggers on the
# minutely rollup m (which feed the hourly rollup h), a chance for the worker
# to fold, then those triggers.  A parallel restore reaches this order by
# chance; m must not be folded while h cannot capture what the fold writes.
my ($list) = run_command([ 'pg_restore', '-l', $dump_custom ]);
my @toc = split /\n/, $list;
my $later = "$tempdir/later.list";
my $first = "$tempdir/first.list";
append_to_file($later, join("\n", grep { / TRIGGER public m _fg_capture_/ } @toc) . "\n");
append_to_file($first, join("\n", grep { !/ TRIGGER public m _fg_capture_/ } @toc) . "\n");
$new->safe_psql('postgres', 'CREATE DATABASE grid_split');
is( errors_of(
		run_client('pg_restore', '--section=pre-data', '--section=data', '-d', 'grid_split', $dump_custom)),
	'', 'split: pre-data and data restored without error');
$new->safe_psql('grid_split', 'SELECT fluss_grid.start_worker()');
ok(poll_for('grid_split', $worker_in_db, 15),
	'split: a worker runs before post-data is restored');
is( errors_of(
		run_client('pg_restore', '--section=post-data', '-L', $first, '-d', 'grid_split', $dump_custom)),
	'', 'split: post-data but the triggers on m restored without error');
$new->safe_psql('grid_split', "SELECT fluss_grid.wait_for_rollups(interval '2 seconds')");
is( errors_of(
		run_client('pg_restore', '--section=post-data', '-L', $later, '-d', 'grid_split', $dump_custom)),
	'', 'split: the triggers on m restored without error');
check_restored('grid_split', 'split');

# ---------------------------------------------------------------------------
# no process crashed

$new->stop;
unlike(slurp_file($new->logfile),
	qr/(terminated by signal|server process .* was terminated|PANIC)/,
	'no process crashed');

done_testing();
