
# Copyright (c) fluss_grid contributors

# fluss_columnar VACUUM and WAL.  A streaming standby reads the same rows
# as the primary after a VACUUM that rewrote row groups and after the next
# ones that removed the old index entries, moved row groups into freed
# pages and truncated the file (the standby's file has the same size); a
# REPEATABLE READ transaction on the standby that began before the
# compaction still reads its rows.  kill -9 of the postmaster right after
# a compacting VACUUM, and while one runs: after recovery the rows are
# exactly the committed ones, by sequential and index scans, and VACUUM
# goes on working.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use FlussGridTest;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $primary = fg_node('vac_primary', init => { allows_streaming => 1 });
$primary->safe_psql(
	'postgres', q{
	CREATE EXTENSION fluss_grid;
	CREATE TABLE c (id int PRIMARY KEY, region text, v float8)
	    USING fluss_columnar;
	SELECT fluss_grid.columnar_set('c', row_group_rows => 1000);
	INSERT INTO c SELECT g, 'r' || (g % 7), g / 4.0
	  FROM generate_series(1, 5000) g;
	CREATE TABLE big (id int, t text) USING fluss_columnar;
	SELECT fluss_grid.columnar_set('big', row_group_rows => 10000);
	INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 200000) g;
	DELETE FROM big WHERE id % 2 = 0;
});
# single-row INSERT transactions: one small row group each
for my $i (5001 .. 5030)
{
	$primary->safe_psql('postgres', "INSERT INTO c VALUES ($i, 'single', $i)");
}
$primary->safe_psql('postgres',
	'DELETE FROM c WHERE id <= 1000 AND id % 2 = 0; DELETE FROM c WHERE id % 997 = 0');

$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('vac_standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
# the old row groups' metadata rows are pruned once the primary's horizon
# passes them, which cancels standby queries that could still read them
# (as for heap rows): the standby's reader below holds them back
$standby->append_conf('postgresql.conf', $FlussGridTest::PRELOAD
	  . "hot_standby_feedback = on\nwal_receiver_status_interval = 1\n");
$standby->start;

# kill -9 the postmaster; start again once its children are gone
sub crash_restart
{
	my ($node) = @_;
	my @pids = split /\n/,
	  $node->safe_psql('postgres', 'SELECT pid FROM pg_stat_activity');
	$node->kill9;
	my $deadline = time() + 60;
	while (grep { kill(0, $_) } @pids)
	{
		die 'server processes outlive the postmaster' if time() > $deadline;
		select(undef, undef, undef, 0.05);
	}
	return;
}

my $summary = q{SELECT count(*), sum(id), sum(v), count(DISTINCT region) FROM c};
my $by_index = q{SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT count(*), sum(id), sum(v), count(DISTINCT region) FROM c WHERE id > 0};
my $rgs = q{SELECT count(*) FROM fluss_grid.columnar_row_group
	WHERE storage_id = fluss_grid.columnar_storage_id('c')};
my $expected = $primary->safe_psql('postgres', $summary);
my $rgs_before = $primary->safe_psql('postgres', $rgs);
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $summary), $expected,
	'the standby reads the rows before VACUUM');

# a REPEATABLE READ snapshot on the standby, older than the compaction
my $reader = $standby->background_psql('postgres', on_error_stop => 1);
$reader->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
is($reader->query_safe($summary), $expected, 'standby reader before VACUUM');
ok( fg_poll_until(
		$primary, 'postgres',
		'SELECT backend_xmin IS NOT NULL FROM pg_stat_replication', 60),
	'the standby reports its oldest snapshot');

$primary->safe_psql('postgres', 'VACUUM c');
my $rgs_after = $primary->safe_psql('postgres', $rgs);
cmp_ok($rgs_after, '<', $rgs_before,
	"VACUUM compacted row groups ($rgs_before -> $rgs_after)");
is($primary->safe_psql('postgres', $summary), $expected,
	'VACUUM kept the rows');
is($primary->safe_psql('postgres', $by_index), $expected,
	'the index finds them at their new TIDs');
$primary->wait_for_catchup($standby);
is($reader->query_safe($summary), $expected,
	'the standby reader older than VACUUM reads the same rows');
$reader->query_safe('COMMIT');
$reader->quit;
is($standby->safe_psql('postgres', $summary), $expected,
	'the standby reads the same rows after VACUUM');
is($standby->safe_psql('postgres', $by_index), $expected,
	'and through the index');

# kill -9 right after the compaction: its commit is in WAL
$primary->safe_psql('postgres',
	"INSERT INTO c VALUES (6001, 'x', 1); INSERT INTO c VALUES (6002, 'x', 2)");
$primary->safe_psql('postgres', 'INSERT INTO c VALUES (6003, \'x\', 3)');
$primary->safe_psql('postgres', 'VACUUM c');
$expected = $primary->safe_psql('postgres', $summary);
crash_restart($primary);
$primary->start;
is($primary->safe_psql('postgres', $summary), $expected,
	'after kill -9 right after VACUUM: the same rows');
is($primary->safe_psql('postgres', $by_index), $expected,
	'and through the index');

# the next VACUUMs remove the old index entries, move the last row groups
# into the free pages and truncate the tail (one step each)
my $size_before = $primary->safe_psql('postgres', "SELECT pg_relation_size('c')");
$primary->safe_psql('postgres', 'DELETE FROM c WHERE id > 4000');
# the standby's feedback (hot_standby_feedback) holds the horizon back for
# up to a status interval: VACUUM until the file shrinks
my $shrank = 0;
for (1 .. 300)
{
	$primary->safe_psql('postgres', 'VACUUM c');
	$shrank = 1
	  if $primary->safe_psql('postgres', "SELECT pg_relation_size('c')") <
	  $size_before;
	last if $shrank;
	usleep(100_000);
}
$expected = $primary->safe_psql('postgres', $summary);
ok($shrank, 'the file shrank');
is($primary->safe_psql('postgres', $by_index), $expected,
	'the index after cleanup');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $summary), $expected,
	'the standby after index cleanup and truncation');
is($standby->safe_psql('postgres', $by_index), $expected,
	'and through the index');
is( $standby->safe_psql('postgres', "SELECT pg_relation_size('c')"),
	$primary->safe_psql('postgres', "SELECT pg_relation_size('c')"),
	'the standby file has the same size');

# kill -9 while a VACUUM rewrites 100,000 rows: before, during or after its
# commit, the rows are exactly those before
my $big = q{SELECT count(*), sum(id), count(DISTINCT t) FROM big};
my $big_expected = $primary->safe_psql('postgres', $big);
my $vac = $primary->background_psql('postgres', on_error_stop => 0);
$vac->query_until(qr/start/, "\\echo start\nVACUUM big;\n");
# (it may also have ended by then: that is a crash right after it)
fg_poll_until($primary, 'postgres',
	q{SELECT count(*) > 0 FROM pg_stat_activity WHERE query = 'VACUUM big;'},
	10);
crash_restart($primary);
$vac->{run}->kill_kill;
$vac->{run}->finish;
$primary->start;
is($primary->safe_psql('postgres', $big), $big_expected,
	'after kill -9 during VACUUM: the same rows');
$primary->safe_psql('postgres', 'VACUUM big');
$primary->safe_psql('postgres', 'VACUUM big');
is($primary->safe_psql('postgres', $big), $big_expected,
	'VACUUM after the crash keeps them');
is( $primary->safe_psql(
		'postgres',
		q{SELECT count(*), sum(row_count) FROM fluss_grid.columnar_row_group
		   WHERE storage_id = fluss_grid.columnar_storage_id('big')}),
	'10|100000',
	'and rewrote the half-deleted row groups');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $big), $big_expected,
	'the standby after the crash and the VACUUMs');

$standby->stop;
$primary->stop;
done_testing();
