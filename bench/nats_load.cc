// nats_load: NATS JetStream load generator for opsready's NATS ingest path (issue 4): publishes
// events on opsready.events.<topic> and measures how fast a running `opsready serve` (with
// bus.nats) takes them into its evaluation queue, end to end.
//
//   nats_load --nats nats://127.0.0.1:4222 --opsready 127.0.0.1:9477 --events 1000000
//       --batch 100 [--topic telemetry.ingest.lag] [--pending 4096]
//
// Each message carries `--batch` events as NDJSON (the same sample lines bench/ingest_load posts
// over HTTP); --batch 1 sends one JSON event per message. Messages are published
// asynchronously (js_PublishAsync, at most --pending unacknowledged), then the stream's acks
// are awaited. Meanwhile the program polls opsready's /metrics for
// opsready_events_received_total{topic=...} until it has grown by --events. Reported:
//   publish: events/s the stream acknowledged (producer side alone)
//   end to end: events/s from the first publish until opsready counted the last event
// The stream (bus.nats.stream) must exist; opsready creates it when it starts. Loopback only.
//
// --floor: no opsready. The program consumes the messages itself through a fresh durable pull
// consumer that does nothing but fetch and ack each message, the cheapest consumer libnats
// allows: the ceiling of publish -> JetStream -> consume on this machine, to read opsready's
// figure against.
//
// Not a Google Benchmark program (it measures servers in other processes); its name keeps it
// out of bench/CMakeLists.txt's *_bench.cc glob.

#include <nats/nats.h>

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string nats = "nats://127.0.0.1:4222";
  std::string opsready_host = "127.0.0.1";
  int opsready_port = 9477;
  long events = 1000000;
  int batch = 100;
  std::string topic = "telemetry.ingest.lag";
  std::string prefix = "opsready.events";
  int pending = 4096;
  bool floor = false;
  std::string stream = "OPSREADY_EVENTS";
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "nats_load: " << why
            << "\nusage: nats_load --nats nats://127.0.0.1:PORT --opsready 127.0.0.1:PORT"
               " [--events N] [--batch N] [--topic T] [--prefix P] [--pending N] [--floor]"
               " [--stream NAME]\n";
  std::exit(64);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") usage("help");
    if (a == "--floor") {
      o.floor = true;
      continue;
    }
    if (i + 1 >= argc) usage("missing value for " + a);
    const std::string v = argv[++i];
    if (a == "--nats") {
      o.nats = v;
    } else if (a == "--opsready") {
      const auto colon = v.rfind(':');
      if (colon == std::string::npos) usage("--opsready wants HOST:PORT");
      o.opsready_host = v.substr(0, colon);
      o.opsready_port = std::atoi(v.c_str() + colon + 1);
    } else if (a == "--events") {
      o.events = std::atol(v.c_str());
    } else if (a == "--batch") {
      o.batch = std::atoi(v.c_str());
    } else if (a == "--topic") {
      o.topic = v;
    } else if (a == "--prefix") {
      o.prefix = v;
    } else if (a == "--stream") {
      o.stream = v;
    } else if (a == "--pending") {
      o.pending = std::atoi(v.c_str());
    } else {
      usage("unknown option " + a);
    }
  }
  if (o.events < 1 || o.batch < 1 || o.pending < 1) usage("counts must be positive");
  if (o.opsready_host != "127.0.0.1" && o.opsready_host != "localhost") usage("loopback only");
  return o;
}

// `batch` NDJSON sample lines, the same as bench/ingest_load's HTTP bodies.
std::string body(int batch, const std::string& topic) {
  std::string out;
  char line[256];
  for (int i = 0; i < batch; ++i) {
    std::snprintf(line, sizeof line,
                  R"({"topic":"%s","source":"feed-%d","payload":)"
                  R"({"series":"ingest.lag_seconds","value":%d.25,"labels":{"venue":"XNAS"}}})"
                  "\n",
                  topic.c_str(), i % 16, i % 7);
    out += line;
  }
  return out;
}

// opsready_events_received_total{topic="T"}, or -1 when it cannot be read.
double received(httplib::Client& c, const std::string& topic) {
  auto res = c.Get("/metrics");
  if (!res || res->status != 200) return -1;
  const std::string series = "opsready_events_received_total{topic=\"" + topic + "\"} ";
  const auto at = res->body.find(series);
  if (at == std::string::npos) return 0;
  return std::strtod(res->body.c_str() + at + series.size(), nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  httplib::Client http(o.opsready_host, o.opsready_port);
  const double base = o.floor ? 0 : received(http, o.topic);
  if (base < 0) {
    std::cerr << "nats_load: cannot read http://" << o.opsready_host << ":" << o.opsready_port
              << "/metrics\n";
    return 1;
  }

  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  if (natsConnection_ConnectTo(&nc, o.nats.c_str()) != NATS_OK) {
    std::cerr << "nats_load: cannot connect to " << o.nats << "\n";
    return 1;
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = o.pending;
  if (natsConnection_JetStream(&js, nc, &jo) != NATS_OK) {
    std::cerr << "nats_load: no JetStream context\n";
    return 1;
  }
  const std::string data = body(o.batch, o.topic);
  const std::string subject = o.prefix + "." + o.topic;
  const long messages = (o.events + o.batch - 1) / o.batch;
  const long events = messages * o.batch;

  std::atomic<bool> done{false};
  Clock::time_point t_end{};
  natsSubscription* floor_sub = nullptr;
  if (o.floor) {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = o.stream.c_str();
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.DeliverPolicy = js_DeliverNew;
    const std::string durable = "nats-load-floor-" + std::to_string(::getpid());
    jsErrCode jerr = static_cast<jsErrCode>(0);
    if (js_PullSubscribe(&floor_sub, js, subject.c_str(), durable.c_str(), nullptr, &so, &jerr) !=
        NATS_OK) {
      std::cerr << "nats_load: cannot create the floor consumer (" << jerr << ")\n";
      return 1;
    }
  }
  std::thread watcher([&] {
    if (o.floor) {  // fetch and ack, nothing else
      long got = 0;
      while (got < messages) {
        natsMsgList list{};
        jsErrCode jerr = static_cast<jsErrCode>(0);
        natsSubscription_Fetch(&list, floor_sub, 256, 1000, &jerr);
        for (int i = 0; i < list.Count; ++i) natsMsg_Ack(list.Msgs[i], nullptr);
        got += list.Count;
        natsMsgList_Destroy(&list);
      }
      t_end = Clock::now();
      done = true;
      return;
    }
    httplib::Client c(o.opsready_host, o.opsready_port);
    while (true) {
      const double n = received(c, o.topic);
      if (n >= base + static_cast<double>(events)) {
        t_end = Clock::now();
        done = true;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });

  const auto t0 = Clock::now();
  long failed = 0;
  for (long m = 0; m < messages; ++m) {
    if (js_PublishAsync(js, subject.c_str(), data.data(), static_cast<int>(data.size()), nullptr) !=
        NATS_OK) {
      ++failed;
    }
  }
  jsPubOptions wait;
  jsPubOptions_Init(&wait);
  wait.MaxWait = 120000;
  const natsStatus complete = js_PublishAsyncComplete(js, &wait);
  const auto t_pub = Clock::now();
  if (failed > 0 || complete != NATS_OK) {
    std::cerr << "nats_load: " << failed << " publish calls failed; completion "
              << natsStatus_GetText(complete) << "\n";
  }
  // Give opsready up to 5 minutes to count the last event.
  for (int i = 0; i < 30000 && !done; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!done) {
    std::cerr << "nats_load: opsready did not count every event within 5 minutes\n";
    std::_Exit(1);
  }
  watcher.join();
  const double pub_s = std::chrono::duration<double>(t_pub - t0).count();
  const double e2e_s = std::chrono::duration<double>(t_end - t0).count();
  std::printf("nats_load: %ld events in %ld messages of %d (%zu bytes each)\n", events, messages,
              o.batch, data.size());
  std::printf("  publish (stream acks): %.2f s  %.0f events/s  %.0f messages/s\n", pub_s,
              static_cast<double>(events) / pub_s, static_cast<double>(messages) / pub_s);
  std::printf(o.floor ? "  end to end (a fetch-and-ack consumer got them): %.2f s  %.0f events/s\n"
                      : "  end to end (opsready counted them): %.2f s  %.0f events/s\n",
              e2e_s, static_cast<double>(events) / e2e_s);
  if (floor_sub != nullptr) {
    natsSubscription_Unsubscribe(floor_sub);  // deletes the floor's durable consumer
    natsSubscription_Destroy(floor_sub);
  }
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  nats_Close();
  return 0;
}
