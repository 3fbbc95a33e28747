// JobService against a fake cluster: states, deadlines, cancellation, retention and caps.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <thread>

#include "jobs/job_service.hpp"

using namespace std::chrono_literals;
using pg::jobs::Job;
using pg::jobs::JobService;
using pg::jobs::JobServiceOptions;
using pg::jobs::JobSpec;
using pg::jobs::JobState;

namespace {

/// Launches are answered by the test: accept(), reject(), or never.
class FakeCluster : public pg::cluster::Cluster {
 public:
  struct Pending {
    pg::pie::LaunchRequest req;
    pg::cluster::LaunchOptions opts;
    pg::pie::InstanceSink sink;
    pg::cluster::LaunchDone done;
  };
  void start() override {}
  void stop() override {}
  void launch(pg::pie::LaunchRequest req, pg::cluster::LaunchOptions opts, pg::pie::InstanceSink sink,
              pg::cluster::LaunchDone done) override {
    pending.push_back({std::move(req), std::move(opts), std::move(sink), std::move(done)});
  }
  std::vector<std::string> healthy_servers(const std::string&) const override { return {"s1"}; }
  void terminate(const std::string& server, const std::string& id) override { terminated.push_back(server + "/" + id); }
  bool ready() const override { return true; }
  nlohmann::json describe() const override { return nlohmann::json::array(); }
  std::size_t pending_requests() const override { return 0; }
  void reconfigure(pg::config::ClusterConfig) override {}

  /// Accept launch `i` as instance "inst-<i>" and return its sink.
  pg::pie::InstanceSink& accept(std::size_t i) {
    pending.at(i).done(pg::cluster::Placement{"s1", "inst-" + std::to_string(i)});
    return pending.at(i).sink;
  }
  std::vector<Pending> pending;
  std::vector<std::string> terminated;
};

struct Fixture {
  explicit Fixture(JobServiceOptions o = {}) : cluster(std::make_shared<FakeCluster>()), jobs(io.get_executor(), cluster, o) {}
  std::shared_ptr<Job> submit(std::chrono::milliseconds timeout = 10s, JobService::Waiter w = {}, bool async = false) {
    JobSpec s;
    s.async = async;
    s.endpoint = "e";
    s.launch.inferlet = "std/echo@0.1.0";
    s.timeout = timeout;
    auto j = jobs.submit(std::move(s), std::move(w));
    EXPECT_TRUE(j) << j.error();
    return j ? *j : nullptr;
  }
  void run_for(std::chrono::milliseconds d) {
    io.restart();
    io.run_for(d);
  }
  boost::asio::io_context io;
  std::shared_ptr<FakeCluster> cluster;
  JobService jobs;
};

}  // namespace

TEST(Jobs, CompletesWithOutputAndNotifiesOnce) {
  Fixture f;
  int calls = 0;
  auto job = f.submit(10s, [&](const Job& j) {
    ++calls;
    EXPECT_EQ(j.state, JobState::Completed);
  });
  EXPECT_EQ(job->state, JobState::Queued);
  auto& sink = f.cluster->accept(0);
  EXPECT_EQ(job->state, JobState::Running);
  EXPECT_EQ(job->instance_id, "inst-0");
  sink.on_stdout("hel");
  sink.on_stdout("lo");
  sink.on_stderr("warn");
  sink.on_message("m1");
  sink.on_end(pg::pie::InstanceEnd::Completed, "done");
  sink.on_end(pg::pie::InstanceEnd::Completed, "again");  // ignored
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(job->stdout_text, "hello");
  EXPECT_EQ(job->stderr_text, "warn");
  EXPECT_EQ(job->messages, std::vector<std::string>{"m1"});
  EXPECT_EQ(job->result(), "done");
  EXPECT_EQ(f.jobs.live(), 0u);
  EXPECT_EQ(f.jobs.find(job->id.str()), job) << "finished jobs stay visible within retention";
}

TEST(Jobs, InferletFailureAndRejection) {
  Fixture f;
  auto a = f.submit();
  auto b = f.submit();
  f.cluster->accept(0).on_end(pg::pie::InstanceEnd::Exception, "boom");
  EXPECT_EQ(a->state, JobState::Failed);
  EXPECT_EQ(a->error->type, "Exception");
  EXPECT_EQ(a->error->message, "boom");
  f.cluster->pending[1].done(pg::cluster::LaunchFailure{pg::cluster::LaunchFailure::Kind::Rejected, "no such program"});
  EXPECT_EQ(b->state, JobState::Failed);
  EXPECT_EQ(b->error->kind, pg::jobs::JobError::Kind::Rejected);
}

TEST(Jobs, DeadlineTerminatesTheInstance) {
  Fixture f;
  auto job = f.submit(30ms);
  f.cluster->accept(0);
  f.run_for(200ms);
  EXPECT_EQ(job->state, JobState::Failed);
  EXPECT_EQ(job->error->kind, pg::jobs::JobError::Kind::Timeout);
  EXPECT_EQ(f.cluster->terminated, std::vector<std::string>{"s1/inst-0"});
}

TEST(Jobs, LaunchAcceptedAfterTheDeadlineIsTerminated) {
  Fixture f;
  auto job = f.submit(20ms);
  f.run_for(100ms);
  EXPECT_EQ(job->state, JobState::Failed);
  EXPECT_TRUE(f.cluster->terminated.empty());
  f.cluster->accept(0);
  EXPECT_EQ(f.cluster->terminated, std::vector<std::string>{"s1/inst-0"}) << "no orphaned instance";
}

TEST(Jobs, CancelRunningAndQueued) {
  Fixture f;
  auto running = f.submit();
  auto queued = f.submit();
  f.cluster->accept(0);
  EXPECT_EQ(f.jobs.cancel(running->id.str()), JobService::CancelOutcome::Cancelled);
  EXPECT_EQ(running->state, JobState::Cancelled);
  EXPECT_EQ(f.cluster->terminated, std::vector<std::string>{"s1/inst-0"});
  EXPECT_EQ(f.jobs.cancel(queued->id.str()), JobService::CancelOutcome::Cancelled);
  f.cluster->accept(1);
  EXPECT_EQ(f.cluster->terminated.size(), 2u) << "the launch that lands after cancel is terminated";
  EXPECT_EQ(f.jobs.cancel(running->id.str()), JobService::CancelOutcome::AlreadyFinished);
  EXPECT_EQ(f.jobs.cancel("nope"), JobService::CancelOutcome::NotFound);
}

TEST(Jobs, OutputIsBoundedAndMarkedTruncated) {
  JobServiceOptions o;
  o.max_output_bytes = 10;
  Fixture f(o);
  auto job = f.submit();
  auto& sink = f.cluster->accept(0);
  sink.on_stdout("0123456");
  sink.on_stdout("789abc");
  sink.on_end(pg::pie::InstanceEnd::Completed, "");
  EXPECT_EQ(job->stdout_text, "0123456789");
  EXPECT_TRUE(job->truncated);
}

TEST(Jobs, LiveCapRefusesNewJobs) {
  JobServiceOptions o;
  o.max_live_jobs = 2;
  Fixture f(o);
  f.submit();
  f.submit();
  JobSpec s;
  auto third = f.jobs.submit(s);
  ASSERT_FALSE(third);
  EXPECT_NE(third.error().find("limit of 2 running jobs"), std::string::npos);
  f.cluster->accept(0).on_end(pg::pie::InstanceEnd::Completed, "");
  EXPECT_TRUE(f.jobs.submit(s)) << "a slot frees when a job ends";
}

TEST(Jobs, FinishedJobsAreCappedOldestFirstAndExpire) {
  JobServiceOptions o;
  o.max_finished_jobs = 3;
  o.retention = 50ms;
  Fixture f(o);
  std::vector<std::shared_ptr<Job>> all;
  for (int i = 0; i < 5; ++i) {
    all.push_back(f.submit(10s, {}, /*async=*/true));
    f.cluster->accept(static_cast<std::size_t>(i)).on_end(pg::pie::InstanceEnd::Completed, "");
  }
  EXPECT_EQ(f.jobs.known(), 3u);
  EXPECT_EQ(f.jobs.find(all[0]->id.str()), nullptr);
  EXPECT_EQ(f.jobs.find(all[1]->id.str()), nullptr);
  EXPECT_NE(f.jobs.find(all[4]->id.str()), nullptr);
  std::this_thread::sleep_for(80ms);
  EXPECT_EQ(f.jobs.find(all[4]->id.str()), nullptr) << "gone after the retention time";
  EXPECT_EQ(f.jobs.known(), 0u);
}

TEST(Jobs, AFloodOfSyncCallsDoesNotEvictAsyncResults) {
  JobServiceOptions o;
  o.max_finished_jobs = 2;
  o.max_finished_sync_jobs = 3;
  Fixture f(o);
  auto handle = f.submit(10s, {}, /*async=*/true);
  f.cluster->accept(0).on_end(pg::pie::InstanceEnd::Completed, "result");
  std::vector<std::shared_ptr<Job>> sync;
  for (std::size_t i = 1; i <= 50; ++i) {
    sync.push_back(f.submit());
    f.cluster->accept(i).on_end(pg::pie::InstanceEnd::Completed, "");
  }
  EXPECT_EQ(f.jobs.find(handle->id.str()), handle) << "the async result is still there to fetch";
  EXPECT_EQ(f.jobs.known(), 4u) << "1 async + the 3 newest sync calls";
  EXPECT_NE(f.jobs.find(sync.back()->id.str()), nullptr);
  EXPECT_EQ(f.jobs.find(sync.front()->id.str()), nullptr);
}

TEST(Jobs, ForgetListAndLateWaiters) {
  Fixture f;
  auto a = f.submit();
  auto b = f.submit();
  f.cluster->accept(0).on_end(pg::pie::InstanceEnd::Completed, "");
  pg::jobs::JobFilter running;
  running.state = JobState::Running;
  EXPECT_TRUE(f.jobs.list(running).empty()) << "b is still queued";
  f.cluster->accept(1);
  ASSERT_EQ(f.jobs.list(running).size(), 1u);
  EXPECT_EQ(f.jobs.list({}).size(), 2u);
  EXPECT_EQ(f.jobs.list({}).front(), b) << "newest first";
  bool late = false;
  f.jobs.on_end(a, [&](const Job&) { late = true; });
  f.run_for(50ms);
  EXPECT_TRUE(late) << "a waiter added after the end still runs";
  f.jobs.forget(b->id);
  EXPECT_NE(f.jobs.find(b->id.str()), nullptr) << "running jobs are not forgotten";
  f.jobs.forget(a->id);
  EXPECT_EQ(f.jobs.find(a->id.str()), nullptr);
}

TEST(JobId, RoundTripAndRejects) {
  for (int i = 0; i < 100; ++i) {
    auto id = pg::jobs::JobId::random();
    auto text = id.str();
    ASSERT_EQ(text.size(), 36u);
    EXPECT_EQ(text[14], '4') << "version 4";
    EXPECT_NE(std::string("89ab").find(text[19]), std::string::npos) << "variant 10";
    auto back = pg::jobs::JobId::parse(text);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, id);
  }
  EXPECT_TRUE(pg::jobs::JobId::parse("0A386E63-7908-42F6-88B9-F7823537133D"));
  EXPECT_FALSE(pg::jobs::JobId::parse("0a386e63-7908-42f6-88b9-f7823537133"));
  EXPECT_FALSE(pg::jobs::JobId::parse("0a386e63x7908-42f6-88b9-f7823537133d"));
  EXPECT_FALSE(pg::jobs::JobId::parse("0a386e63-7908-42f6-88b9-f7823537133g"));
  EXPECT_FALSE(pg::jobs::JobId::parse(""));
}

namespace {
/// The events log as "kind:text" strings, from `from` on.
std::vector<std::string> log_of(const Job& j, std::size_t from = 0) {
  std::vector<std::string> out;
  for (std::size_t i = from; i < j.events.size(); ++i)
    out.push_back(std::string(pg::jobs::to_string(j.events[i].kind)) + ":" + std::string(j.event_text(j.events[i])));
  return out;
}
}  // namespace

TEST(JobEvents, LogKeepsArrivalOrderAndResumesFromAnOffset) {
  Fixture f;
  auto job = f.submit();
  auto& sink = f.cluster->accept(0);
  sink.on_stdout("Hel");
  sink.on_stderr("warn");
  sink.on_message("m1");
  sink.on_stdout("lo");
  sink.on_blob("h1", std::string("\x00\x01", 2));
  sink.on_end(pg::pie::InstanceEnd::Completed, "done");
  std::vector<std::string> want{"started:", "stdout:Hel", "stderr:warn", "message:m1", "stdout:lo",
                                std::string("blob:\x00\x01", 7), "end:"};
  EXPECT_EQ(log_of(*job), want);
  // A watcher that saw 3 events picks up exactly the rest.
  EXPECT_EQ(log_of(*job, 3), std::vector<std::string>(want.begin() + 3, want.end()));
  EXPECT_EQ(job->blobs.at(0).hash, "h1");
}

TEST(JobEvents, WatchersAreToldOfEveryEventAndDroppedAtTheEnd) {
  Fixture f;
  auto job = f.submit();
  int a = 0, b = 0;
  f.jobs.watch(job, [&] { ++a; });
  auto idb = f.jobs.watch(job, [&] { ++b; });
  auto& sink = f.cluster->accept(0);  // started
  sink.on_stdout("x");
  f.jobs.unwatch(job, idb);
  sink.on_stdout("y");
  sink.on_end(pg::pie::InstanceEnd::Completed, "");
  EXPECT_EQ(a, 4);  // started, x, y, end
  EXPECT_EQ(b, 2);  // started, x
  EXPECT_TRUE(job->watchers.empty());
  // Watching a finished job: one posted notification, the log already complete.
  int c = 0;
  f.jobs.watch(job, [&] { ++c; });
  EXPECT_EQ(c, 0);
  f.run_for(50ms);
  EXPECT_EQ(c, 1);
}

TEST(JobEvents, OutputBeyondTheCapLeavesAGapEvent) {
  JobServiceOptions o;
  o.max_output_bytes = 5;
  Fixture f(o);
  auto job = f.submit();
  auto& sink = f.cluster->accept(0);
  sink.on_stdout("abc");
  sink.on_stdout("defg");
  sink.on_stdout("more");
  sink.on_blob("h", "blob");  // no room: dropped whole
  sink.on_end(pg::pie::InstanceEnd::Completed, "");
  EXPECT_EQ(job->stdout_text, "abcde");
  EXPECT_TRUE(job->truncated);
  auto log = log_of(*job);
  ASSERT_EQ(log.size(), 5u);
  EXPECT_EQ(log[1], "stdout:abc");
  EXPECT_EQ(log[2].rfind("gap:output beyond the job's cap of 5 bytes", 0), 0u) << log[2];
  EXPECT_EQ(log[3], "stdout:de");
  EXPECT_EQ(log[4], "end:");
}

namespace {
std::shared_ptr<Job> submit_as(Fixture& f, const std::string& owner) {
  JobSpec s;
  s.endpoint = "e";
  s.owner = owner;
  s.launch.inferlet = "std/echo@0.1.0";
  auto j = f.jobs.submit(std::move(s));
  EXPECT_TRUE(j) << j.error();
  return j ? *j : nullptr;
}
}  // namespace

TEST(JobsAdmission, AClientCapCountsOnlyThatClientsLiveJobs) {
  Fixture f;
  submit_as(f, "alice");
  submit_as(f, "alice");
  EXPECT_EQ(f.jobs.live_of("alice"), 2u);
  auto refused = f.jobs.admit("alice", 2);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->kind, JobService::Refusal::Kind::ClientCap);
  EXPECT_FALSE(f.jobs.admit("bob", 2)) << "bob has none";
  EXPECT_FALSE(f.jobs.admit("", 1)) << "access off: no per-client cap";
  f.cluster->accept(0).on_end(pg::pie::InstanceEnd::Completed, "done");
  EXPECT_EQ(f.jobs.live_of("alice"), 1u);
  EXPECT_FALSE(f.jobs.admit("alice", 2)) << "a finished job frees its slot";
}

TEST(JobsAdmission, NearTheGatewayCapAFloodingClientLeavesRoomForOthers) {
  JobServiceOptions o;
  o.max_live_jobs = 8;  // a quarter (2) is the reserve: alice alone may hold 6
  Fixture f(o);
  for (int i = 0; i < 6; ++i) {
    ASSERT_FALSE(f.jobs.admit("alice", 0)) << i;
    submit_as(f, "alice");
  }
  auto refused = f.jobs.admit("alice", 0);
  ASSERT_TRUE(refused) << "alice holds the whole non-reserved share";
  EXPECT_EQ(refused->kind, JobService::Refusal::Kind::FairShare);
  EXPECT_NE(refused->message.find("fair share"), std::string::npos) << refused->message;
  EXPECT_FALSE(f.jobs.admit("bob", 0)) << "bob is under his share (6 / 2 clients = 3)";
  submit_as(f, "bob");
  EXPECT_FALSE(f.jobs.admit("bob", 0));
  submit_as(f, "bob");
  EXPECT_EQ(f.jobs.live(), 8u) << "the gateway cap still holds overall";
  JobSpec carol;
  carol.owner = "carol";
  EXPECT_FALSE(f.jobs.submit(std::move(carol))) << "a full gateway refuses everyone";
}

TEST(JobsAdmission, ListFiltersByOwner) {
  Fixture f;
  submit_as(f, "alice");
  submit_as(f, "bob");
  submit_as(f, "alice");
  pg::jobs::JobFilter only_alice;
  only_alice.owner = "alice";
  EXPECT_EQ(f.jobs.list(only_alice).size(), 2u);
  EXPECT_EQ(f.jobs.list({}).size(), 3u);
}
