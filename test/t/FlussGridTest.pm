
# Copyright (c) fluss_grid contributors

# Helpers shared by the TAP tests in test/t: a cluster with fluss_grid
# preloaded, polling with a deadline, the worker in pg_stat_activity, and
# the comparison of a rollup (or _realtime view) of the tests' standard
# source "src (ts, region, v)" with a from-scratch GROUP BY.

package FlussGridTest;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::Cluster;
use Time::HiRes qw(time usleep);
use Test::More;

our @EXPORT = qw(fg_node fg_poll_until fg_wait_after_crash fg_workers_sql
  fg_worker_pid fg_matches_sql $FG_ROLLUPS);

# the postgresql.conf lines every test cluster starts from
our $PRELOAD = qq{
shared_preload_libraries = 'fluss_grid'
fluss_grid.naptime = 1000
max_worker_processes = 16
};

# the extension, the standard source and its minutely and hourly rollups
# (what fg_matches_sql compares without avg)
our $FG_ROLLUPS = q{
	CREATE EXTENSION fluss_grid;
	CREATE TABLE src (id bigserial PRIMARY KEY, ts timestamptz,
	                  region text NOT NULL, v integer);
	SELECT fluss_grid.create_rollup('m', 'src', 'ts', interval '1 minute',
	    ARRAY['region'], ARRAY['count(*) AS n', 'sum(v)', 'min(v)', 'max(v)']);
	SELECT fluss_grid.create_rollup(name => 'h', source => 'm',
	                                bucket => interval '1 hour');
};

# fg_node(NAME, conf => LINES, init => {init options}, start => 0|1):
# a cluster with fluss_grid preloaded plus LINES, started unless start => 0
sub fg_node
{
	my ($name, %opt) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%{ $opt{init} // {} });
	$node->append_conf('postgresql.conf', $PRELOAD . ($opt{conf} // ''));
	$node->start unless defined $opt{start} && !$opt{start};
	return $node;
}

# true once QUERY in DB returns 't', polling every 0.1 s; false (with a
# diagnostic) after SECONDS
sub fg_poll_until
{
	my ($node, $db, $query, $seconds) = @_;
	my $deadline = time() + $seconds;
	while (time() < $deadline)
	{
		return 1 if $node->safe_psql($db, $query) eq 't';
		usleep(100_000);
	}
	diag("gave up after $seconds s waiting for: $query");
	return 0;
}

# true once the server has reset itself after child PID was killed -9
# (the dead child no longer in pg_stat_activity: before the postmaster
# notices, its entry is still there) and accepts connections out of crash
# recovery; false (with a diagnostic) after SECONDS (default 180).  Not
# poll_query_until: it pipes its query into psql, and a psql that the
# restarting server turns away at once can be gone before the write, which
# then dies of EPIPE and ends the script.
sub fg_wait_after_crash
{
	my ($node, $pid, $seconds) = @_;
	$seconds //= 180;
	my $deadline = time() + $seconds;
	while (time() < $deadline)
	{
		my $up = eval {
			$node->safe_psql('postgres',
				"SELECT NOT pg_is_in_recovery() AND NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $pid)");
		};
		return 1 if defined $up && $up eq 't';
		usleep(100_000);
	}
	diag("gave up after $seconds s waiting for the server to come back after killing $pid");
	return 0;
}

# a query true when N workers (meeting the SQL condition EXTRA) run for
# database DB
sub fg_workers_sql
{
	my ($db, $n, $extra) = @_;
	return
		"SELECT count(*) = $n FROM pg_stat_activity"
	  . " WHERE backend_type = 'fluss_grid worker' AND datname = '$db' "
	  . ($extra // '');
}

# pid of the worker of database DB (any database when undef), '' if none
sub fg_worker_pid
{
	my ($node, $db) = @_;
	return $node->safe_psql('postgres',
			"SELECT pid FROM pg_stat_activity WHERE backend_type = 'fluss_grid worker'"
		  . (defined $db ? " AND datname = '$db'" : ''));
}

# fg_matches_sql(REL, BUCKET, src => SOURCE, avg => 0|1): a query true when
# relation REL (a rollup or view of SOURCE with bucket width BUCKET in UTC,
# columns n, sum_v, min_v, max_v and, with avg, avg_v) equals a GROUP BY over
# SOURCE (default src)
sub fg_matches_sql
{
	my ($rel, $bucket, %opt) = @_;
	my $src = $opt{src} // 'src';
	my $avg_q = $opt{avg} ? ",\n\t         round(avg(v), 6) AS avg_v" : '';
	my $avg_g = $opt{avg} ? ', round(avg_v, 6)' : '';
	my $q = qq{
	  SELECT date_bin('$bucket', ts AT TIME ZONE 'UTC', '2000-01-03') AT TIME ZONE 'UTC' AS bucket,
	         region, count(*) AS n, sum(v) AS sum_v, min(v) AS min_v, max(v) AS max_v$avg_q
	    FROM $src WHERE ts IS NOT NULL GROUP BY 1, 2};
	my $g = "SELECT bucket, region, n, sum_v, min_v, max_v$avg_g FROM $rel";
	return "SELECT (SELECT count(*) FROM (($q) EXCEPT ALL ($g)) x) = 0"
	  . " AND (SELECT count(*) FROM (($g) EXCEPT ALL ($q)) x) = 0";
}

1;
