
# Copyright (c) fluss_grid contributors

# Autovacuum of a fluss_columnar table.  The access method counts its
# inserted, updated and deleted rows as heap does, and its VACUUM reports
# the rows left, so autovacuum comes on its own: after many single-row
# INSERT transactions (the rows inserted since the last VACUUM) it compacts
# their small row groups, after a large DELETE (the dead rows) it rewrites
# the row groups, and then it leaves the table alone.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use FlussGridTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = fg_node('autovac',
	conf => "autovacuum_naptime = 1\nlog_autovacuum_min_duration = 0\n");
$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION fluss_grid;
	CREATE TABLE c (id int PRIMARY KEY, v float8) USING fluss_columnar
	  WITH (autovacuum_enabled = false,
	        autovacuum_vacuum_insert_threshold = 100,
	        autovacuum_vacuum_insert_scale_factor = 0,
	        autovacuum_vacuum_threshold = 100,
	        autovacuum_vacuum_scale_factor = 0);
});

my $stats = q{SELECT row_groups || ' ' || rows || ' ' || deleted_rows
	FROM fluss_grid.columnar_stats('c') WHERE attname = 'id'};

# 300 single-row INSERT transactions: one row group each (autovacuum is
# let in after the last, so that it finds them all)
for my $i (1 .. 300)
{
	$node->safe_psql('postgres', "INSERT INTO c VALUES ($i, $i / 2.0)");
}
is($node->safe_psql('postgres', $stats), '300 300 0',
	'one row group per single-row INSERT');
$node->safe_psql('postgres', 'ALTER TABLE c SET (autovacuum_enabled = true)');
ok( fg_poll_until(
		$node, 'postgres',
		q{SELECT autovacuum_count > 0 FROM pg_stat_user_tables
		   WHERE relid = 'c'::regclass}, 120),
	'autovacuum vacuumed the table after the inserts');
ok(fg_poll_until($node, 'postgres', "SELECT ($stats) = '1 300 0'", 60),
	'the small row groups were compacted into one');

# a DELETE of 40 % of the rows: dead rows past the threshold
my $before = $node->safe_psql('postgres',
	q{SELECT autovacuum_count FROM pg_stat_user_tables WHERE relid = 'c'::regclass});
$node->safe_psql('postgres', 'DELETE FROM c WHERE id % 5 IN (1, 2)');
ok( fg_poll_until(
		$node, 'postgres',
		qq{SELECT autovacuum_count > $before FROM pg_stat_user_tables
		   WHERE relid = 'c'::regclass}, 120),
	'autovacuum vacuumed the table after the DELETE');
ok(fg_poll_until($node, 'postgres', "SELECT ($stats) = '1 180 0'", 60),
	'the deleted rows were reclaimed');
is( $node->safe_psql(
		'postgres', q{SELECT n_live_tup || ' ' || n_dead_tup
		  FROM pg_stat_user_tables WHERE relid = 'c'::regclass}),
	'180 0',
	'VACUUM reported the rows left');
is( $node->safe_psql(
		'postgres', q{SELECT count(*) || ' ' || sum(id) FROM c}),
	$node->safe_psql(
		'postgres', q{SELECT count(*) || ' ' || sum(g)
		  FROM generate_series(1, 300) g WHERE g % 5 NOT IN (1, 2)}),
	'the rows left are the ones not deleted');

# nothing more to do: autovacuum does not come back for rows it cannot reclaim
my $settled = $node->safe_psql('postgres',
	q{SELECT autovacuum_count FROM pg_stat_user_tables WHERE relid = 'c'::regclass});
sleep 4;
is( $node->safe_psql(
		'postgres',
		q{SELECT autovacuum_count FROM pg_stat_user_tables WHERE relid = 'c'::regclass}),
	$settled,
	'autovacuum leaves the settled table alone');

$node->stop;
done_testing();
