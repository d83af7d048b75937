
# Copyright (c) fluss_grid contributors

# Database-level commands while fluss_grid workers run.  In PostgreSQL 15 a
# background worker connected to a database makes ALTER DATABASE ...
# RENAME, ALTER DATABASE ... SET TABLESPACE, CREATE DATABASE ... TEMPLATE
# and DROP DATABASE fail with "database ... is being accessed by other
# users"; the engine's worker must step aside for them and come back.
#
# With a worker running (also while it folds a large batch), each command,
# issued from the postgres database, succeeds; after ALTER DATABASE the
# worker comes back by itself (pg_stat_activity, fluss_grid.workers()) and
# folds; a database copied from a template that had pending changes gets a
# worker of its own, through the launcher or fluss_grid.start_worker(), and
# both databases fold the pending changes exactly once; DROP DATABASE
# leaves no worker trying to connect to the dropped database.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use FlussGridTest;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = fg_node(
	'dbcmd', conf => q{
# the comparison queries over _realtime views cross jit_above_cost and
# would spend ~0.5 s each compiling
jit = off
});

# ---------------------------------------------------------------------------
# helpers

# true once $db has exactly one worker, within $seconds
sub worker_within
{
	my ($db, $seconds) = @_;
	return fg_poll_until($node, 'postgres', fg_workers_sql($db, 1), $seconds);
}

my $all_match = 'SELECT ('
  . join(') AND (',
	fg_matches_sql('m', '1 minute'),
	fg_matches_sql('m_realtime', '1 minute'),
	fg_matches_sql('h', '1 hour'),
	fg_matches_sql('h_realtime', '1 hour'))
  . ')';
my $nothing_pending =
  'SELECT coalesce(sum(pending_changes), 0) = 0 FROM fluss_grid.rollups';

# the worker folds what is pending in $db by itself (nobody calls
# wait_for_rollups), and then every rollup and view equals GROUP BY
sub folds_ok
{
	my ($db, $name) = @_;
	ok($node->poll_query_until($db, $nothing_pending), "$name (worker folded)");
	is($node->safe_psql($db, $all_match), 't', "$name (equals GROUP BY)");
	return;
}

my $batch = 0;

# insert $rows rows, update and delete some earlier ones
sub write_batch
{
	my ($db, $rows) = @_;
	$rows //= 500;
	$batch++;
	$node->safe_psql(
		$db, qq{
		INSERT INTO src (ts, region, v)
		SELECT '2024-03-10 15:00:00+00'::timestamptz + (g * 7 + $batch) * interval '1 second',
		       'r' || (g % 5), (g * 31 + $batch) % 1000
		  FROM generate_series(1, $rows) g;
		UPDATE src SET v = v + 1000 WHERE id % 17 = $batch % 17;
		DELETE FROM src WHERE id % 23 = $batch % 23;
	});
}

# run a database command from the postgres database; checks that it
# succeeded, and returns how long it took
sub db_command
{
	my ($sql, $name) = @_;
	my $t0 = time;
	my ($ret, $out, $err) = $node->psql('postgres', $sql);
	my $took = time - $t0;
	is($ret, 0, "$name succeeds while the worker runs") or diag($err);
	unlike($err, qr/being accessed by other users/,
		"$name: no \"being accessed by other users\"");
	note(sprintf('%s took %.2f s', $name, $took));
	return $took;
}

# ---------------------------------------------------------------------------
# a database with the extension, rollups and a running worker

$node->safe_psql('postgres', 'CREATE DATABASE fgx');
$node->safe_psql('fgx', $FG_ROLLUPS);
write_batch('fgx');
ok(worker_within('fgx', 15), 'fgx: a worker runs');
folds_ok('fgx', 'fgx: the worker folds');

# ---------------------------------------------------------------------------
# ALTER DATABASE ... RENAME

my $old_pid = $node->safe_psql('postgres', sprintf(
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'fluss_grid worker' AND datname = '%s'", 'fgx'));
db_command('ALTER DATABASE fgx RENAME TO fgy', 'ALTER DATABASE fgx RENAME TO fgy');
ok(worker_within('fgy', 15), 'fgy: the worker comes back after the rename');
is($node->safe_psql('fgy',
		"SELECT count(*) FROM fluss_grid.workers() WHERE role = 'first' AND datname = current_database()"),
	'1', 'fgy: fluss_grid.workers() lists the worker under the new name');
is($node->safe_psql('postgres', fg_workers_sql('fgx', 0)),
	't', 'no worker under the old name');
write_batch('fgy');
folds_ok('fgy', 'fgy: folding continues after the rename, without being asked');
is($node->safe_psql('fgy', 'SELECT fluss_grid.wait_for_rollups()'),
	't', 'fgy: wait_for_rollups() true');

# again, while the worker folds a large batch
write_batch('fgy', 50000);
db_command('ALTER DATABASE fgy RENAME TO fgx', 'RENAME while the worker folds a large batch');
db_command('ALTER DATABASE fgx RENAME TO fgy', 'RENAME back');
ok(worker_within('fgy', 15), 'fgy: the worker comes back after two renames');
folds_ok('fgy', 'fgy: the interrupted fold completes exactly');

# ---------------------------------------------------------------------------
# ALTER DATABASE ... SET TABLESPACE

my $tsdir = $node->basedir . '/ts1';
mkdir $tsdir or die "mkdir $tsdir: $!";
$node->safe_psql('postgres', "CREATE TABLESPACE ts1 LOCATION '$tsdir'");
db_command('ALTER DATABASE fgy SET TABLESPACE ts1', 'ALTER DATABASE fgy SET TABLESPACE ts1');
ok(worker_within('fgy', 15), 'fgy: the worker comes back after SET TABLESPACE');
write_batch('fgy');
folds_ok('fgy', 'fgy: folding continues after SET TABLESPACE');

# ---------------------------------------------------------------------------
# CREATE DATABASE ... TEMPLATE, with changes pending in the template

$node->safe_psql('postgres', 'ALTER SYSTEM SET fluss_grid.enabled = off');
$node->reload;
my $passes = $node->safe_psql('fgy',
	"SELECT passes FROM fluss_grid.workers() WHERE role = 'first' AND datname = 'fgy'");
ok( $node->poll_query_until('fgy',
		"SELECT passes >= $passes + 3 FROM fluss_grid.workers() WHERE role = 'first' AND datname = 'fgy'"),
	'fgy: the worker has seen fluss_grid.enabled = off');
write_batch('fgy');
my $pending = $node->safe_psql('fgy',
	'SELECT coalesce(sum(pending_changes), 0) FROM fluss_grid.rollups');
ok($pending > 0, "fgy: changes pending before the copy ($pending)");

db_command('CREATE DATABASE fgz TEMPLATE fgy', 'CREATE DATABASE fgz TEMPLATE fgy');
is($node->safe_psql('fgz',
		'SELECT coalesce(sum(pending_changes), 0) FROM fluss_grid.rollups'),
	$pending, 'fgz: the copy holds the pending changes');

$node->safe_psql('postgres', 'ALTER SYSTEM RESET fluss_grid.enabled');
$node->reload;
ok(worker_within('fgy', 15), 'fgy: the worker comes back after serving as a template');
ok(worker_within('fgz', 15), 'fgz: the copy gets a worker of its own within 15 s (launcher)')
  or $node->safe_psql('fgz', 'SELECT fluss_grid.start_worker()');
ok(worker_within('fgz', 15), 'fgz: a worker runs (after start_worker() if needed)');
isnt(fg_worker_pid($node, 'fgz'), fg_worker_pid($node, 'fgy'),
	'fgy and fgz have different workers');
folds_ok('fgy', 'fgy: the pending changes are folded exactly once');
folds_ok('fgz', 'fgz: the copied pending changes are folded exactly once');
write_batch('fgz', 300);
write_batch('fgy', 700);
folds_ok('fgz', 'fgz: new writes fold');
folds_ok('fgy', 'fgy: new writes fold');
isnt($node->safe_psql('fgy', 'SELECT count(*) FROM src'),
	$node->safe_psql('fgz', 'SELECT count(*) FROM src'),
	'the two databases hold (and fold) their own changes');

# ---------------------------------------------------------------------------
# DROP DATABASE

ok(worker_within('fgy', 15), 'fgy: the worker runs before DROP DATABASE');
db_command('DROP DATABASE fgy', 'DROP DATABASE fgy');
ok(worker_within('fgz', 15), 'fgz: its worker still runs');
db_command('DROP DATABASE fgz', 'DROP DATABASE fgz');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'fluss_grid worker'"),
	'0', 'no worker is left');

# a database created afterwards gets a worker as usual
$node->safe_psql('postgres', 'CREATE DATABASE fgw');
$node->safe_psql('fgw', $FG_ROLLUPS);
write_batch('fgw');
ok(worker_within('fgw', 15), 'fgw: a new database gets a worker');
folds_ok('fgw', 'fgw: and folds');

$node->stop;
my $log = slurp_file($node->logfile);
unlike($log, qr/FATAL:\s+database .* does not exist/,
	'no worker tried to connect to a dropped database');
unlike($log, qr/(terminated by signal|server process .* was terminated|PANIC)/,
	'no process crashed');

done_testing();
