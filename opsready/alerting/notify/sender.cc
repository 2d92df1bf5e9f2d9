#include "opsready/alerting/notify/sender.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace opsready::alerting::notify {
namespace {

using std::chrono::milliseconds;

// tls_config min_version / max_version (TLS10 .. TLS13; the transports check the names) as
// CURLOPT_SSLVERSION's value: the floor OR-ed with the ceiling. Unset floor: TLS 1.2, as
// Alertmanager's default; unset ceiling: the highest libcurl knows.
long tls_version(const TlsOptions& tls) {
  const auto floor = [](std::string_view v) -> long {
    if (v == "TLS10") return CURL_SSLVERSION_TLSv1_0;
    if (v == "TLS11") return CURL_SSLVERSION_TLSv1_1;
    if (v == "TLS13") return CURL_SSLVERSION_TLSv1_3;
    return CURL_SSLVERSION_TLSv1_2;
  };
  const auto ceiling = [](std::string_view v) -> long {
    if (v == "TLS10") return CURL_SSLVERSION_MAX_TLSv1_0;
    if (v == "TLS11") return CURL_SSLVERSION_MAX_TLSv1_1;
    if (v == "TLS12") return CURL_SSLVERSION_MAX_TLSv1_2;
    if (v == "TLS13") return CURL_SSLVERSION_MAX_TLSv1_3;
    return CURL_SSLVERSION_MAX_DEFAULT;
  };
  return floor(tls.min_version) | ceiling(tls.max_version);
}

// curl_global_init is not thread-safe before libcurl 7.84 and must run once per process.
void global_init() {
  static const bool done = [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("curl_global_init failed");
    }
    return true;
  }();
  static_cast<void>(done);
}

struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistFree>;

void append(Slist& list, const std::string& line) {
  curl_slist* next = curl_slist_append(list.get(), line.c_str());
  if (next == nullptr) throw std::bad_alloc();
  static_cast<void>(list.release());
  list.reset(next);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

struct Sender::Impl {
  // One job from submit() until its exchange ends.
  struct Running {
    Job job;
    core::TimePoint first_tried{};
    core::TimePoint exchange_started{};
  };
  // One request of a job, on one easy handle.
  struct Transfer {
    std::unique_ptr<Running> run;
    Request request;
    CURL* easy = nullptr;
    Slist headers;
    Slist recipients;
    Slist connect_to;    // a receiver outage (set_outage): every connection goes to a dead port
    std::string upload;  // the mail message
    std::size_t upload_at = 0;
    Response response;
    char error[CURL_ERROR_SIZE] = {};
    std::size_t body_limit = 0;
  };

  Impl(SenderOptions o, const core::Clock& c, std::function<void(const Outcome&)> cb)
      : options(std::move(o)), clock(c), on_outcome(std::move(cb)) {
    global_init();
    multi = curl_multi_init();
    if (multi == nullptr) throw std::runtime_error("curl_multi_init failed");
    // Idle connections kept for reuse. libcurl's default is 4x the easy handles in the multi
    // at the moment a transfer ends; each transfer here has its own handle, removed when it
    // ends, so the pool shrank as a burst drained and a connection to a busy receiver was
    // closed and opened again about every 5 requests (measured: 3 952 connections for 20 000
    // webhook notifications). Every request slot may keep its connection.
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS,
                      static_cast<long>(std::max<std::size_t>(options.max_in_flight, 4)));
    std::random_device rd;
    rng.seed(options.seed != 0 ? options.seed : (static_cast<std::uint64_t>(rd()) << 32) ^ rd());
  }
  ~Impl() {
    for (auto& [easy, t] : transfers) {
      curl_multi_remove_handle(multi, easy);
      curl_easy_cleanup(easy);
    }
    transfers.clear();
    curl_multi_cleanup(multi);
    if (dead_port_fd >= 0) ::close(dead_port_fd);
  }

  SenderOptions options;
  const core::Clock& clock;
  std::function<void(const Outcome&)> on_outcome;
  CURLM* multi = nullptr;
  std::mt19937_64 rng;

  mutable std::mutex mu;
  std::set<std::string, std::less<>> outage;  // guarded by mu: receivers made unreachable
  // A loopback port bound and never listened on, kept for the Sender's life: a connection to
  // it is refused at once (ECONNREFUSED), and no other process can take it meanwhile.
  int dead_port_fd = -1;
  int dead_port = 0;
  std::vector<Job> incoming;          // guarded by mu
  std::vector<std::string> recorded;  // guarded by mu: ids whose held slot is free
  std::atomic<std::size_t> queued_count{0};
  std::atomic<std::size_t> in_flight_count{0};

  // run() thread only.
  std::multimap<core::TimePoint, std::unique_ptr<Running>> waiting;
  std::map<std::string, std::deque<std::unique_ptr<Running>>> ready;  // by receiver
  std::unordered_map<std::string, std::size_t> busy;                  // in flight, by receiver
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> transfers;
  // drain(): no new job starts, and the waiter is told when no request runs any more.
  std::atomic<bool> draining{false};
  std::mutex drain_mu;
  std::condition_variable drained;
  std::size_t running_requests = 0;  // guarded by drain_mu: transfers.size(), for drain()
  bool drain_seen = false;           // guarded by drain_mu: a pass of run() saw `draining`
  std::unordered_map<std::string, std::string> held;         // ended, not recorded: id → receiver
  std::unordered_map<std::string, std::string> order_owner;  // order_key → the id that runs

  void wake() { curl_multi_wakeup(multi); }

  void take_incoming(core::TimePoint now) {
    std::vector<Job> jobs;
    std::vector<std::string> free;
    {
      std::lock_guard lock(mu);
      jobs.swap(incoming);
      free.swap(recorded);
    }
    for (const std::string& id : free) {
      if (auto node = held.extract(id)) --busy[node.mapped()];
    }
    for (Job& j : jobs) {
      auto r = std::make_unique<Running>();
      r->first_tried = j.first_tried.value_or(now);
      const core::TimePoint at = j.not_before;
      r->job = std::move(j);
      if (at > now) {
        waiting.emplace(at, std::move(r));
      } else {
        ready[r->job.receiver].push_back(std::move(r));
      }
    }
  }

  void release_due(core::TimePoint now) {
    while (!waiting.empty() && waiting.begin()->first <= now) {
      auto node = waiting.extract(waiting.begin());
      ready[node.mapped()->job.receiver].push_back(std::move(node.mapped()));
    }
  }

  std::size_t in_flight() const { return transfers.size() + held.size(); }

  // A job that ended (accepted, refused or given up): the next job of its order key may
  // start, and its slot stays taken until recorded() names it (hold_until_recorded).
  void ended(const Running& r) {
    if (!r.job.order_key.empty()) {
      const auto owner = order_owner.find(r.job.order_key);
      if (owner != order_owner.end() && owner->second == r.job.id) order_owner.erase(owner);
    }
    if (!options.hold_until_recorded) return;
    ++busy[r.job.receiver];
    held.emplace(r.job.id, r.job.receiver);
  }

  // Builds a job's exchange from its `prepare`; false (the job failed, reported) when there
  // is none or it could not be built.
  bool prepare(Running& r) {
    core::Result<std::unique_ptr<Exchange>> built =
        r.job.prepare ? r.job.prepare()
                      : core::fail("no_exchange", "the job has neither an exchange nor prepare");
    r.job.prepare = nullptr;
    if (built && *built) {
      r.job.exchange = std::move(*built);
      return true;
    }
    on_outcome(
        Outcome{.kind = Outcome::Kind::kFailed,
                .id = r.job.id,
                .receiver = r.job.receiver,
                .integration = r.job.integration,
                .attempts = r.job.attempts,
                .error = built ? std::string("no exchange was built") : built.error().message});
    return false;
  }

  void start_ready(core::TimePoint now) {
    // Round robin over receivers, so one receiver's backlog does not starve another's.
    bool started = true;
    while (started && in_flight() < options.max_in_flight) {
      started = false;
      for (auto it = ready.begin(); it != ready.end() && in_flight() < options.max_in_flight;) {
        auto& slots = busy[it->first];
        if (it->second.empty()) {
          it = ready.erase(it);
          continue;
        }
        if (slots >= options.max_in_flight_per_receiver) {
          ++it;
          continue;
        }
        // The first job of this receiver whose order key is free (or its own: a retry).
        auto& queue = it->second;
        auto pick = std::find_if(queue.begin(), queue.end(), [&](const auto& q) {
          if (q->job.order_key.empty()) return true;
          const auto owner = order_owner.find(q->job.order_key);
          return owner == order_owner.end() || owner->second == q->job.id;
        });
        if (pick == queue.end()) {
          ++it;
          continue;
        }
        std::unique_ptr<Running> r = std::move(*pick);
        queue.erase(pick);
        if (!r->job.exchange && !prepare(*r)) continue;  // failed: it took no slot
        if (!r->job.order_key.empty()) order_owner[r->job.order_key] = r->job.id;
        r->exchange_started = now;
        Request first = r->job.exchange->start();
        begin(std::move(r), std::move(first));
        started = true;
        ++it;
      }
    }
    update_counts();
  }

  void update_counts() {
    std::size_t queued = waiting.size();
    for (const auto& [name, q] : ready) queued += q.size();
    queued_count = queued;
    in_flight_count = in_flight();
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t bytes = size * n;
    if (t->response.body.size() < t->body_limit) {
      t->response.body.append(data, std::min(bytes, t->body_limit - t->response.body.size()));
    }
    return bytes;
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t bytes = size * n;
    const std::string_view line(data, bytes);
    if (line.starts_with("HTTP/")) {
      t->response.headers.clear();  // a new response (after 100 Continue, say)
    } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
      t->response.headers.emplace_back(lower(trim(line.substr(0, colon))),
                                       std::string(trim(line.substr(colon + 1))));
    }
    return bytes;
  }

  static std::size_t on_upload(char* buffer, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t room = size * n;
    const std::size_t left = t->upload.size() - t->upload_at;
    const std::size_t bytes = std::min(room, left);
    std::copy_n(t->upload.data() + t->upload_at, bytes, buffer);
    t->upload_at += bytes;
    return bytes;
  }

  void begin(std::unique_ptr<Running> r, Request request) {
    auto t = std::make_unique<Transfer>();
    t->body_limit = options.max_response_body;
    CURL* easy = curl_easy_init();
    if (easy == nullptr) throw std::runtime_error("curl_easy_init failed");
    t->easy = easy;
    t->request = std::move(request);
    t->run = std::move(r);
    Transfer* tp = t.get();
    const Request& rq = tp->request;
    int down_port = 0;  // a receiver outage: the dead port
    {
      std::lock_guard lock(mu);
      if (outage.contains(tp->run->job.receiver)) down_port = dead_port;
    }
    if (down_port != 0) {
      // Any host and port of this request: to the dead port (libcurl's CONNECT_TO syntax).
      append(tp->connect_to, "::127.0.0.1:" + std::to_string(down_port));
      curl_easy_setopt(easy, CURLOPT_CONNECT_TO, tp->connect_to.get());
    }

    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, tp->error);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, tp);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(rq.connect_timeout.count()));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(rq.timeout.count()));
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, rq.tls.insecure_skip_verify ? 0L : 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, rq.tls.insecure_skip_verify ? 0L : 2L);
    if (!rq.tls.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, rq.tls.ca_file.c_str());
    if (!rq.tls.cert_file.empty()) {
      curl_easy_setopt(easy, CURLOPT_SSLCERT, rq.tls.cert_file.c_str());
    }
    if (!rq.tls.key_file.empty()) curl_easy_setopt(easy, CURLOPT_SSLKEY, rq.tls.key_file.c_str());
    curl_easy_setopt(easy, CURLOPT_SSLVERSION, tls_version(rq.tls));
    // An empty proxy string turns off the proxy environment variables too: delivery goes
    // where the configuration says, not where a stray http_proxy points.
    curl_easy_setopt(easy, CURLOPT_PROXY, down_port != 0 ? "" : rq.proxy_url.c_str());

    if (const auto* http = std::get_if<HttpRequest>(&rq.what)) {
      curl_easy_setopt(easy, CURLOPT_URL, http->url.c_str());
      curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
      // http_config.follow_redirects (Alertmanager's default: on), at most 10 hops, the method
      // and body kept on 301/302/303 as Go's client keeps them for a POST it re-sends.
      curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, rq.follow_redirects ? 1L : 0L);
      curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 10L);
      curl_easy_setopt(easy, CURLOPT_POSTREDIR, static_cast<long>(CURL_REDIR_POST_ALL));
      curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
      for (const auto& [name, value] : http->headers) append(tp->headers, name + ": " + value);
      append(tp->headers, "Expect:");  // no 100-continue round trip
      curl_easy_setopt(easy, CURLOPT_HTTPHEADER, tp->headers.get());
      if (http->method == "GET") {
        curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
      } else {
        if (http->method != "POST")
          curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, http->method.c_str());
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, http->body.data());
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(http->body.size()));
      }
      if (!http->username.empty() || !http->password.empty()) {
        curl_easy_setopt(easy, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
        curl_easy_setopt(easy, CURLOPT_USERNAME, http->username.c_str());
        curl_easy_setopt(easy, CURLOPT_PASSWORD, http->password.c_str());
      }
      curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Impl::on_body);
      curl_easy_setopt(easy, CURLOPT_WRITEDATA, tp);
      curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Impl::on_header);
      curl_easy_setopt(easy, CURLOPT_HEADERDATA, tp);
    } else {
      const auto& mail = std::get<MailRequest>(rq.what);
      // libcurl takes the EHLO name from the URL's path.
      std::string url = mail.url;
      if (!mail.hello.empty()) url += "/" + mail.hello;
      curl_easy_setopt(easy, CURLOPT_URL, url.c_str());  // copied by libcurl
      curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
      curl_easy_setopt(easy, CURLOPT_MAIL_FROM, ("<" + mail.from + ">").c_str());
      for (const auto& to : mail.to) append(tp->recipients, "<" + to + ">");
      curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, tp->recipients.get());
      // smtps:// is TLS from the first byte; smtp:// with require_tls insists on STARTTLS.
      curl_easy_setopt(easy, CURLOPT_USE_SSL,
                       static_cast<long>(mail.require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
      if (!mail.username.empty()) {
        curl_easy_setopt(easy, CURLOPT_USERNAME, mail.username.c_str());
        curl_easy_setopt(easy, CURLOPT_PASSWORD, mail.password.c_str());
        if (!mail.identity.empty()) {
          curl_easy_setopt(easy, CURLOPT_SASL_AUTHZID, mail.identity.c_str());
        }
      }
      tp->upload = mail.message;
      curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(easy, CURLOPT_READFUNCTION, &Impl::on_upload);
      curl_easy_setopt(easy, CURLOPT_READDATA, tp);
      curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(tp->upload.size()));
    }
    ++busy[tp->run->job.receiver];
    curl_multi_add_handle(multi, easy);
    transfers.emplace(easy, std::move(t));
  }

  milliseconds backoff(int attempts) {
    double wait = static_cast<double>(options.backoff_initial.count()) *
                  std::pow(options.backoff_multiplier, std::max(0, attempts - 1));
    std::uniform_real_distribution<double> jitter(1.0 - options.backoff_jitter,
                                                  1.0 + options.backoff_jitter);
    // Capped after the jitter: no wait is longer than backoff_max.
    wait = std::min(wait * jitter(rng), static_cast<double>(options.backoff_max.count()));
    return milliseconds(static_cast<std::int64_t>(wait));
  }

  void finish(CURL* easy, CURLcode code) {
    auto node = transfers.extract(easy);
    curl_multi_remove_handle(multi, easy);
    std::unique_ptr<Transfer> t = std::move(node.mapped());
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(easy);
    Response& resp = t->response;
    resp.status = status;
    if (code != CURLE_OK) {
      resp.error = t->error[0] != '\0' ? std::string(t->error) : curl_easy_strerror(code);
      resp.timed_out = code == CURLE_OPERATION_TIMEDOUT;
      // An HTTP answer always comes back as CURLE_OK; a mail refused mid-dialogue keeps its
      // SMTP code (550 on RCPT), which classify() reads. Anything else had no answer.
      if (std::holds_alternative<HttpRequest>(t->request.what)) resp.status = 0;
    }
    const auto now = clock.now();
    std::unique_ptr<Running> r = std::move(t->run);
    --busy[r->job.receiver];
    Step step = r->job.exchange->next(resp, now);
    if (auto* more = std::get_if<Request>(&step)) {
      begin(std::move(r), std::move(*more));
      return;
    }
    Outcome o{.id = r->job.id,
              .receiver = r->job.receiver,
              .integration = r->job.integration,
              .attempts = r->job.attempts + 1,
              .status = resp.status,
              .answer = resp.body.substr(0, std::min(resp.body.size(), options.max_answer))};
    if (std::holds_alternative<Done>(step)) {
      o.kind = Outcome::Kind::kSent;
      o.latency = now - r->exchange_started;
      ended(*r);
      on_outcome(o);
      return;
    }
    if (const auto* fail = std::get_if<Fail>(&step)) {
      o.kind = Outcome::Kind::kFailed;
      o.error = fail->reason;
      ended(*r);
      on_outcome(o);
      return;
    }
    const auto& retry = std::get<Retry>(step);
    r->job.attempts = o.attempts;
    if (now - r->first_tried >= options.give_up_after) {
      o.kind = Outcome::Kind::kFailed;
      o.error = "gave up after " + std::to_string(o.attempts) +
                (o.attempts == 1 ? " attempt: " : " attempts: ") + retry.reason;
      ended(*r);
      on_outcome(o);
      return;
    }
    const milliseconds wait =
        retry.after ? std::max(*retry.after, milliseconds(0)) : backoff(o.attempts);
    o.kind = Outcome::Kind::kRetrying;
    o.error = retry.reason;
    o.next_attempt_at = now + wait;
    on_outcome(o);
    waiting.emplace(o.next_attempt_at, std::move(r));
  }

  void run(std::stop_token stop) {
    std::stop_callback on_stop(stop, [this] { wake(); });
    while (!stop.stop_requested()) {
      auto now = clock.now();
      take_incoming(now);
      release_due(now);
      if (draining) {
        update_counts();
      } else {
        start_ready(now);
      }
      {
        // Published after this pass started what it did: drain() waits for a pass that saw
        // the drain begin, so a request started just before it is counted, not missed.
        std::lock_guard lock(drain_mu);
        running_requests = transfers.size();
        if (draining) drain_seen = true;
      }
      if (draining && transfers.empty()) drained.notify_all();
      int wait_ms = 1000;
      if (!waiting.empty()) {
        const auto until = std::chrono::duration_cast<milliseconds>(waiting.begin()->first - now);
        wait_ms = static_cast<int>(std::clamp<std::int64_t>(until.count() + 1, 0, wait_ms));
      }
      curl_multi_poll(multi, nullptr, 0, wait_ms, nullptr);
      int running = 0;
      curl_multi_perform(multi, &running);
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
        if (msg->msg == CURLMSG_DONE) finish(msg->easy_handle, msg->data.result);
      }
    }
  }
};

Sender::Sender(SenderOptions options, const core::Clock& clock,
               std::function<void(const Outcome&)> on_outcome)
    : impl_(std::make_unique<Impl>(std::move(options), clock, std::move(on_outcome))) {}

Sender::~Sender() = default;

void Sender::submit(Job job) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->incoming.push_back(std::move(job));
  }
  impl_->wake();
}

void Sender::recorded(std::vector<std::string> ids) {
  if (ids.empty()) return;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->recorded.empty()) {
      impl_->recorded = std::move(ids);
    } else {
      impl_->recorded.insert(impl_->recorded.end(), std::make_move_iterator(ids.begin()),
                             std::make_move_iterator(ids.end()));
    }
  }
  impl_->wake();
}

void Sender::run(std::stop_token stop) { impl_->run(std::move(stop)); }

bool Sender::drain(core::Duration timeout) {
  impl_->draining = true;
  impl_->wake();
  std::unique_lock lock(impl_->drain_mu);
  // The run loop publishes its count on its next pass (at most a poll's wait away).
  return impl_->drained.wait_for(lock, timeout,
                                 [&] { return impl_->drain_seen && impl_->running_requests == 0; });
}

void Sender::set_outage(const std::string& receiver, bool down) {
  {
    std::lock_guard lock(impl_->mu);
    if (down && impl_->dead_port_fd < 0) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof addr;
      if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
          ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        if (fd >= 0) ::close(fd);
        throw std::runtime_error("cannot reserve a loopback port for a receiver outage");
      }
      impl_->dead_port_fd = fd;
      impl_->dead_port = ntohs(addr.sin_port);
    }
    if (down) {
      impl_->outage.insert(receiver);
    } else {
      impl_->outage.erase(receiver);
    }
  }
  impl_->wake();
}

std::vector<std::string> Sender::outages() const {
  std::lock_guard lock(impl_->mu);
  return {impl_->outage.begin(), impl_->outage.end()};
}

Sender::Counts Sender::counts() const {
  std::size_t incoming = 0;
  {
    std::lock_guard lock(impl_->mu);
    incoming = impl_->incoming.size();
  }
  return {.queued = impl_->queued_count + incoming, .in_flight = impl_->in_flight_count};
}

}  // namespace opsready::alerting::notify
