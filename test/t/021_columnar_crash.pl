
# Copyright (c) fluss_grid contributors

# fluss_columnar and WAL: a streaming standby reads the same rows as the
# primary; after kill -9 of the postmaster, committed rows (also deleted
# and updated ones) are there and rows of a transaction open at the crash
# (some already written out as row groups) are not; writing goes on with
# fresh row numbers; a metapage of zeros (a crash right after extending a
# new file) reads as an empty table.  Then a corrupted and a truncated relation file: a
# clear ERRCODE_DATA_CORRUPTED error naming relation, row group and column,
# and the server stays up; the same for the header of a decimal-scaled
# float chunk changed under a matching checksum.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use FlussGridTest;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = fg_node('col_primary', init => { allows_streaming => 1 });
$primary->safe_psql(
	'postgres', q{
	CREATE EXTENSION fluss_grid;
	CREATE TABLE c (id int, region text, v float8, ts timestamptz)
	    USING fluss_columnar;
	SELECT fluss_grid.columnar_set('c', row_group_rows => 1000);
	INSERT INTO c SELECT g, 'r' || (g % 7), g / 4.0,
	                     '2026-11-01'::timestamptz + g * interval '1 s'
	  FROM generate_series(1, 5000) g;
	DELETE FROM c WHERE id % 10 = 0;
	UPDATE c SET region = 'upd' WHERE id % 100 = 1;
});

$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('col_standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->append_conf('postgresql.conf', $FlussGridTest::PRELOAD);
$standby->start;

# more rows after the backup, so that the standby replays them
$primary->safe_psql('postgres',
	"INSERT INTO c SELECT g, 'late', g, now() FROM generate_series(5001, 7500) g"
);
my $summary =
  "SELECT count(*), sum(id), count(*) FILTER (WHERE region = 'upd'), sum(v) FROM c";
my $expected = $primary->safe_psql('postgres', $summary);
like($expected, qr/^7000\|/, 'primary holds the expected rows');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $summary),
	$expected, 'the standby reads the same rows');
is($standby->safe_psql('postgres', 'SELECT * FROM c EXCEPT SELECT * FROM c'),
	'', 'the standby decodes every row');

# a transaction open at the crash: 2500 rows, two row groups already written
my $in = '';
my $out = '';
my $open = IPC::Run::start(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $primary->connstr('postgres') ],
	'<', \$in, '>', \$out, '2>', \$out);
$in .= q{
BEGIN;
INSERT INTO c SELECT g, 'open', 0, now() FROM generate_series(100001, 102500) g;
DELETE FROM c WHERE id <= 100;
SELECT 'inserted';
};
ok(pump_until($open, IPC::Run::timeout(180), \$out, qr/inserted/),
	'the open transaction inserted its rows');
is($primary->safe_psql('postgres',
		'SELECT sum(row_count) FROM fluss_grid.columnar_row_group'),
	'7550', 'uncommitted row groups are invisible to others');

# kill -9 the postmaster; start again once its children are gone
my @pids = split /\n/, $primary->safe_psql('postgres',
	'SELECT pid FROM pg_stat_activity');
$primary->kill9;
my $deadline = time() + 60;
while (grep { kill(0, $_) } @pids)
{
	die 'server processes outlive the postmaster' if time() > $deadline;
	select(undef, undef, undef, 0.05);
}
$open->finish;
$primary->start;

is($primary->safe_psql('postgres', $summary),
	$expected, 'after kill -9: committed rows survive, uncommitted ones do not');
$primary->safe_psql('postgres',
	"INSERT INTO c SELECT g, 'after', 1, now() FROM generate_series(200001, 200500) g"
);
is( $primary->safe_psql(
		'postgres',
		"SELECT count(*), count(DISTINCT ctid) FROM c WHERE region IN ('after', 'open')"),
	'500|500',
	'writes after recovery get fresh row numbers');
$expected = $primary->safe_psql('postgres', $summary);
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $summary),
	$expected, 'the standby follows after the crash');
$standby->stop;

# corrupt a byte in the middle of the first data page
my $path = $primary->safe_psql('postgres', "SELECT pg_relation_filepath('c')");
my $file = $primary->data_dir . '/' . $path;
$primary->stop;
my $bytes = slurp_file($file);
open(my $fh, '+<', $file) or die "open $file: $!";
binmode $fh;
seek($fh, 8192 + 24 + 10, 0);
my $orig;
read($fh, $orig, 4);
seek($fh, 8192 + 24 + 10, 0);
print $fh pack('N', ~unpack('N', $orig) & 0xFFFFFFFF);
close $fh;
$primary->start;

my ($ret, $stdout, $stderr) = $primary->psql('postgres',
	"\\set VERBOSITY verbose\nSELECT sum(id) FROM c");
isnt($ret, 0, 'reading a corrupted row group fails');
like(
	$stderr,
	qr/XX001: corrupted data in row group \d+, column "\w+" of relation "c"/,
	'with ERRCODE_DATA_CORRUPTED naming row group, column and relation');
is($primary->safe_psql('postgres', 'SELECT 1'), '1', 'the server is still up');

# a truncated file: row groups past its end
$primary->stop;
truncate($file, 8192 * 2) or die "truncate $file: $!";
$primary->start;
($ret, $stdout, $stderr) = $primary->psql('postgres',
	"\\set VERBOSITY verbose\nSELECT count(*) FROM c WHERE id > 7000");
isnt($ret, 0, 'reading a truncated relation fails');
like($stderr, qr/XX001: corrupted data in row group \d+/,
	'with ERRCODE_DATA_CORRUPTED');
is($primary->safe_psql('postgres', 'SELECT 1'), '1', 'the server is still up');

# a crash after extending a new table's file by its metapage but before
# the WAL record of the metapage reached disk leaves a block of zeros:
# an empty table that takes writes
$primary->safe_psql('postgres',
	'CREATE TABLE z (a int) USING fluss_columnar');
my $zfile = $primary->data_dir . '/'
  . $primary->safe_psql('postgres', "SELECT pg_relation_filepath('z')");
$primary->stop;
open(my $zfh, '>', $zfile) or die "open $zfile: $!";
binmode $zfh;
print $zfh ("\0" x 8192);
close $zfh;
$primary->start;
is($primary->safe_psql('postgres', 'SELECT count(*) FROM z'),
	'0', 'a zeroed metapage reads as an empty table');
$primary->safe_psql('postgres', 'INSERT INTO z VALUES (1), (2)');
is($primary->safe_psql('postgres', 'SELECT sum(a) FROM z'),
	'3', 'and takes writes');

# a decimal-scaled float chunk whose header is wrong but whose checksum
# matches (the metadata is set to the CRC of the changed bytes): the
# decoder's own checks report it.  One value: the chunk is stored without
# zstd, 20 header bytes + 1 byte of value.
$primary->safe_psql('postgres',
	"CREATE TABLE d (v float8) USING fluss_columnar; INSERT INTO d VALUES (49.999)");
my $dfile = $primary->data_dir . '/'
  . $primary->safe_psql('postgres', "SELECT pg_relation_filepath('d')");
my $dchunk = q{
	SELECT g.first_block * 8192 + 24 + (c.data_offset / 8168) * 8192
	       + c.data_offset % 8168, c.data_length, c.compression, c.encoding
	  FROM fluss_grid.columnar_chunk c
	  JOIN fluss_grid.columnar_row_group g USING (storage_id, first_row)
	 WHERE c.storage_id = fluss_grid.columnar_storage_id('d')};
my ($dpos, $dlen, $dcomp, $denc) =
  split /\|/, $primary->safe_psql('postgres', $dchunk);
is("$dlen|$dcomp|$denc", '21|0|3',
	'one float8 value: a decimal chunk of 21 bytes stored as is');

# CRC-32C (Castagnoli), as ColumnarChecksum
sub crc32c
{
	my $crc = 0xFFFFFFFF;
	foreach my $byte (unpack('C*', $_[0]))
	{
		$crc ^= $byte;
		$crc = ($crc >> 1) ^ (($crc & 1) ? 0x82F63B78 : 0) for 1 .. 8;
	}
	return $crc ^ 0xFFFFFFFF;
}

my $dorig;
{
	open(my $dfh, '<', $dfile) or die "open $dfile: $!";
	binmode $dfh;
	seek($dfh, $dpos, 0);
	read($dfh, $dorig, $dlen);
	close $dfh;
}
is(crc32c($dorig),
	$primary->safe_psql('postgres',
		"SELECT checksum FROM fluss_grid.columnar_chunk WHERE storage_id = fluss_grid.columnar_storage_id('d')"
	),
	'the CRC-32C of the stored bytes is the recorded checksum');

# [offset, bytes, expected detail]
foreach my $case (
	[ 0, "\x00", 'Decimal header is invalid' ],
	[ 1, "\x10", 'Decimal scale is out of range' ],
	[ 2, "\x00", 'Decimal value width is out of range' ],
	[ 4, pack('l', 1), 'Delta stride is out of range' ],
	[ 8, pack('l', 2), 'Mantissa count does not match the row count' ])
{
	my ($at, $patch, $why) = @$case;
	my $bytes = $dorig;
	substr($bytes, $at, length($patch)) = $patch;
	$primary->stop;
	open(my $dfh, '+<', $dfile) or die "open $dfile: $!";
	binmode $dfh;
	seek($dfh, $dpos, 0);
	print $dfh $bytes;
	close $dfh;
	$primary->start;
	$primary->safe_psql('postgres',
		"UPDATE fluss_grid.columnar_chunk SET checksum = "
		  . crc32c($bytes)
		  . " WHERE storage_id = fluss_grid.columnar_storage_id('d')");
	($ret, $stdout, $stderr) = $primary->psql('postgres',
		"\\set VERBOSITY verbose\nSELECT v FROM d");
	isnt($ret, 0, "a decimal chunk with a bad header fails ($why)");
	like(
		$stderr,
		qr/XX001: corrupted data in row group \d+, column "v" of relation "d"\n.*DETAIL:  $why\./,
		"with ERRCODE_DATA_CORRUPTED and the detail \"$why\"");
}
is($primary->safe_psql('postgres', 'SELECT 1'), '1', 'the server is still up');

$primary->stop;
done_testing();
