
# Copyright (c) fluss_grid contributors

# Randomized differential test of the fluss_columnar access method: the
# same seeded mix of single-row and multi-row INSERTs, UPDATEs, DELETEs,
# savepoints rolled back or released, transactions committed or rolled
# back, TRUNCATE, VACUUM and VACUUM FULL is applied to a heap table and to
# a columnar table (small row groups, so that many are written and read;
# VACUUM compacts them).
# Inside every transaction, after every statement, the two tables must
# hold the same rows (the columnar one partly in its write buffer); after
# every transaction, from a new session, too.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use FlussGridTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $seed = $ENV{FG_SEED} // 20261126;
srand($seed);
note("seed $seed");

my $node = fg_node('columnar_diff');
$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION fluss_grid;
	CREATE TABLE h (id int, k int, s text, f float8, ts timestamptz, b bool);
	CREATE TABLE c (id int, k int, s text, f float8, ts timestamptz, b bool)
	    USING fluss_columnar;
	SELECT fluss_grid.columnar_set('c', row_group_rows => 50);
	CREATE INDEX c_id ON c (id);
	CREATE FUNCTION same() RETURNS void LANGUAGE plpgsql AS $$
	DECLARE n bigint;
	BEGIN
	  SELECT count(*) INTO n FROM ((TABLE h EXCEPT ALL TABLE c)
	                    UNION ALL (TABLE c EXCEPT ALL TABLE h)) x;
	  IF n > 0 THEN
	    RAISE EXCEPTION 'heap and columnar differ in % rows', n;
	  END IF;
	END $$;
	-- the same through the index of c (new TIDs after compactions)
	CREATE FUNCTION same_by_index() RETURNS void LANGUAGE plpgsql AS $$
	DECLARE n bigint;
	BEGIN
	  SET LOCAL enable_seqscan = off;
	  SET LOCAL enable_bitmapscan = off;
	  SET LOCAL fluss_grid.columnar_customscan = off;
	  SELECT count(*) INTO n FROM
	    ((SELECT * FROM h WHERE id > 0 EXCEPT ALL SELECT * FROM c WHERE id > 0)
	     UNION ALL
	     (SELECT * FROM c WHERE id > 0 EXCEPT ALL SELECT * FROM h WHERE id > 0)) x;
	  IF n > 0 THEN
	    RAISE EXCEPTION 'heap and columnar (by index) differ in % rows', n;
	  END IF;
	END $$;
});

my $next_id = 1;

# one random statement, as SQL for table T
sub random_statement
{
	my $r = rand();
	if ($r < 0.25)
	{
		my $id = $next_id++;
		my $k = int(rand(20));
		my $s = rand() < 0.2 ? 'NULL' : "'s$id'";
		return "INSERT INTO T VALUES ($id, $k, $s, $id * 0.5, "
		  . "'2026-11-01'::timestamptz + $id * interval '1 s', $k % 2 = 0)";
	}
	elsif ($r < 0.5)
	{
		my $n = 1 + int(rand(rand() < 0.2 ? 300 : 40));
		my $from = $next_id;
		$next_id += $n;
		my $to = $next_id - 1;
		return "INSERT INTO T SELECT g, g % 20, CASE WHEN g % 7 = 0 THEN NULL "
		  . "ELSE repeat('v', g % 13) || g END, g / 3.0, "
		  . "'2026-11-01'::timestamptz + g * interval '1 s', NULL "
		  . "FROM generate_series($from, $to) g";
	}
	elsif ($r < 0.72)
	{
		my $k = int(rand(20));
		my $m = 2 + int(rand(5));
		return "UPDATE T SET s = coalesce(s, '') || 'u', f = f + 1, "
		  . "k = (k + 1) % 20 WHERE k = $k AND id % $m = 0";
	}
	elsif ($r < 0.92)
	{
		my $m = 3 + int(rand(20));
		my $rem = int(rand($m));
		return "DELETE FROM T WHERE id % $m = $rem AND k < 10";
	}
	else
	{
		# INSERT of existing rows of the same table: reads its own buffer
		my $k = int(rand(20));
		return "INSERT INTO T SELECT id + 1000000, k, s, f, ts, b FROM T "
		  . "WHERE k = $k AND id < 1000000 AND id % 5 = 0";
	}
}

my $steps = 120;
my $vacuums = 0;
for my $step (1 .. $steps)
{
	if (rand() < 0.03 && $step < $steps - 40)
	{
		$node->safe_psql('postgres', 'TRUNCATE h, c');
		next;
	}
	if (rand() < 0.04)
	{
		$node->safe_psql('postgres', 'VACUUM FULL c');
	}
	if (rand() < 0.15)
	{
		$node->safe_psql('postgres', 'VACUUM h');
		$node->safe_psql('postgres', 'VACUUM c');
		$node->safe_psql('postgres', 'SELECT same(); SELECT same_by_index()');
		$vacuums++;
	}

	my @sql = ('BEGIN');
	my $open_savepoint = 0;
	my $nstmt = 1 + int(rand(6));
	for (1 .. $nstmt)
	{
		if (!$open_savepoint && rand() < 0.2)
		{
			push @sql, 'SAVEPOINT sp';
			$open_savepoint = 1;
		}
		my $stmt = random_statement();
		(my $sh = $stmt) =~ s/\bT\b/h/g;
		(my $sc = $stmt) =~ s/\bT\b/c/g;
		push @sql, $sh, $sc, 'SELECT same()';
		if ($open_savepoint && rand() < 0.3)
		{
			push @sql, rand() < 0.5 ? 'ROLLBACK TO sp' : 'RELEASE sp';
			push @sql, 'SELECT same()';
			$open_savepoint = 0;
		}
	}
	push @sql, rand() < 0.25 ? 'ROLLBACK' : 'COMMIT';
	my ($ret, $out, $err) =
	  $node->psql('postgres', join(";\n", @sql) . ";\n",
		on_error_stop => 1);
	if ($ret != 0)
	{
		fail("step $step");
		diag(join(";\n", @sql));
		diag($err);
		last;
	}
	my $same = $node->safe_psql('postgres', 'SELECT same()');
	pass("step $step: heap and columnar agree");
}

# single-row INSERTs leave small row groups, which VACUUM compacts
note("$vacuums VACUUMs in the mix");
for my $i (1 .. 5)
{
	my $id = $next_id++;
	$node->safe_psql('postgres',
		"INSERT INTO h VALUES ($id, 1, 'one', 1, '2026-11-27', true); "
		  . "INSERT INTO c VALUES ($id, 1, 'one', 1, '2026-11-27', true)");
}
my $rgs_sql =
  "SELECT count(*) FROM fluss_grid.columnar_row_group WHERE storage_id = fluss_grid.columnar_storage_id('c')";
my $rgs_before = $node->safe_psql('postgres', $rgs_sql);
$node->safe_psql('postgres', 'VACUUM c');
my $rgs_after = $node->safe_psql('postgres', $rgs_sql);
cmp_ok($rgs_after, '<=', $rgs_before - 4,
	"VACUUM compacted the small row groups ($rgs_before -> $rgs_after)");
$node->safe_psql('postgres', 'VACUUM c');
$node->safe_psql('postgres', 'SELECT same(); SELECT same_by_index()');
pass('heap and columnar agree after the last VACUUMs');

# the columnar table really has many row groups, deletions and NULLs
my $stats = $node->safe_psql('postgres',
	"SELECT row_groups > 5, null_values > 0 FROM fluss_grid.columnar_stats('c') WHERE attname = 's'"
);
is($stats, 't|t', 'several row groups and NULLs were exercised');
is( $node->safe_psql(
		'postgres',
		'SELECT (SELECT count(*) FROM h) = (SELECT count(*) FROM c)'),
	't',
	'same row count at the end');

$node->stop;
done_testing();
