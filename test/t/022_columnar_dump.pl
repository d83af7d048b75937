
# Copyright (c) fluss_grid contributors

# pg_dump / pg_restore of fluss_columnar tables: a table with deleted and
# updated rows, NULLs, a TOAST-sized value and its options, and a
# partitioned table with a columnar partition next to a heap one, dumped
# in custom and plain format and restored into fresh databases: same
# rows, same access methods, same options, and the restored tables take
# new writes.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use FlussGridTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = fg_node('columnar_dump');
$node->safe_psql('postgres', 'CREATE DATABASE grid');
$node->safe_psql(
	'grid', q{
	CREATE EXTENSION fluss_grid;
	CREATE TABLE c (id int, region text, v float8, ts timestamptz)
	    USING fluss_columnar;
	SELECT fluss_grid.columnar_set('c', compression_level => 7,
	                               row_group_rows => 300);
	INSERT INTO c SELECT g, CASE WHEN g % 9 = 0 THEN NULL ELSE 'r' || g % 5 END,
	                     g / 8.0, '2026-11-01'::timestamptz + g * interval '1 s'
	  FROM generate_series(1, 2000) g;
	INSERT INTO c VALUES (-1, repeat('toast', 100000), NULL, NULL);
	DELETE FROM c WHERE id % 13 = 0;
	UPDATE c SET v = -v WHERE id % 17 = 0;
	CREATE TABLE p (ts timestamptz, v int) PARTITION BY RANGE (ts);
	CREATE TABLE p_old PARTITION OF p
	    FOR VALUES FROM ('2026-01-01') TO ('2026-02-01') USING fluss_columnar;
	CREATE TABLE p_new PARTITION OF p
	    FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
	INSERT INTO p SELECT '2026-01-01'::timestamptz + g * interval '1 hour', g
	  FROM generate_series(0, 1400) g;
});

my $fingerprint = q{
	SELECT (SELECT md5(string_agg(c::text, ',' ORDER BY id, v)) FROM c)
	    || ' ' || (SELECT md5(string_agg(p::text, ',' ORDER BY ts)) FROM p)
	    || ' ' || (SELECT string_agg(c.relname || ':' || a.amname, ',' ORDER BY c.relname)
	                 FROM pg_class c JOIN pg_am a ON a.oid = c.relam
	                WHERE c.relname IN ('c', 'p_old', 'p_new'))
	    || ' ' || (SELECT string_agg(relid::text || ':' || compression_level
	                                 || ':' || row_group_rows, ',')
	                 FROM fluss_grid.columnar_options)};
my $expected = $node->safe_psql('grid', $fingerprint);
like($expected, qr/c:fluss_columnar,p_new:heap,p_old:fluss_columnar c:7:300$/,
	'the original database has the expected tables and options');

my $dir = PostgreSQL::Test::Utils::tempdir;
$node->command_ok([ 'pg_dump', '-Fc', '-f', "$dir/grid.dump", '-d', 'grid' ],
	'pg_dump, custom format');
$node->command_ok([ 'pg_dump', '-Fp', '-f', "$dir/grid.sql", '-d', 'grid' ],
	'pg_dump, plain format');

$node->safe_psql('postgres', 'CREATE DATABASE restored_custom');
$node->command_ok(
	[ 'pg_restore', '-d', 'restored_custom', '--exit-on-error', "$dir/grid.dump" ],
	'pg_restore of the custom dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored_plain');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', 'restored_plain',
		'-f', "$dir/grid.sql" ],
	'psql -f of the plain dump');

for my $db (qw(restored_custom restored_plain))
{
	is($node->safe_psql($db, $fingerprint),
		$expected, "$db: same rows, access methods and options");
	$node->safe_psql($db,
		"INSERT INTO c VALUES (5000, 'new', 1, now()); DELETE FROM c WHERE id = 1");
	is( $node->safe_psql(
			$db, 'SELECT count(*) FILTER (WHERE id = 5000), count(*) FILTER (WHERE id = 1) FROM c'),
		'1|0',
		"$db: the restored table takes new writes");
}

$node->stop;
done_testing();
