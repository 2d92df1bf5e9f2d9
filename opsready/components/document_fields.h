#pragma once
// Table-driven reading of the policy/state documents of the original platform (incident
// response §4.1–4.2, security §6.1): each field has an env-style key (INCIDENT_TRAINING_AGE_DAYS)
// and a structured name (training_age_days) and one destination, so both document forms are
// read from one table, by the reading rules of report.h.
//
//   const std::array<fields::Field<State>, 2> kState = {{
//       {"INCIDENT_TRAINING_AGE_DAYS", "training_age_days", &State::training_age_days},
//       {"INCIDENT_CHATOPS_READY", "chatops_ready", &State::chatops_ready}}};
//   State s;
//   if (auto ok = fields::read_fields(doc, kState, /*env=*/true, s); !ok) return ok.error();
//
// Integers follow the spec's int coercion (§0.3): a number is truncated toward zero. An
// optional destination takes an explicit null as none; other destinations keep their value on
// null. Header-only; plain functions.

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "opsready/components/report.h"

namespace opsready::components::fields {

template <typename S>
using Member = std::variant<std::int64_t S::*, std::optional<std::int64_t> S::*, double S::*,
                            std::optional<double> S::*, bool S::*, std::vector<std::string> S::*>;

template <typename S>
struct Field {
  std::string_view env;   // the env-style key
  std::string_view name;  // the structured form's field name
  Member<S> member;
};

// Truncated toward zero, kept within ±1e15 (beyond any count or day figure) so the conversion
// is defined.
[[nodiscard]] inline std::int64_t to_int(double v) {
  return static_cast<std::int64_t>(std::clamp(v, -1e15, 1e15));
}

// Reads `key` of `doc` into `out.*member`; whether the key was present.
template <typename S>
[[nodiscard]] core::Result<bool> read_field(const Doc& doc, std::string_view key,
                                            const Member<S>& member, S& out) {
  if (doc.json().find(key) == doc.json().end()) return false;
  core::Result<bool> result = true;
  std::visit(
      [&](auto ptr) {
        using T = std::remove_reference_t<decltype(out.*ptr)>;
        if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          auto v = doc.strings(key);
          if (!v) {
            result = std::unexpected(v.error());
          } else {
            out.*ptr = std::move(*v);
          }
        } else if constexpr (std::is_same_v<T, bool>) {
          auto v = doc.boolean(key);
          if (!v) {
            result = std::unexpected(v.error());
          } else if (*v) {
            out.*ptr = **v;
          }
        } else {
          auto v = doc.number(key);
          if (!v) {
            result = std::unexpected(v.error());
          } else if constexpr (std::is_same_v<T, double>) {
            if (*v) out.*ptr = **v;
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            if (*v) out.*ptr = to_int(**v);
          } else if constexpr (std::is_same_v<T, std::optional<double>>) {
            out.*ptr = *v;
          } else {
            out.*ptr = *v ? std::optional<std::int64_t>(to_int(**v)) : std::nullopt;
          }
        }
      },
      member);
  return result;
}

// Reads every field of the table (env keys or structured names); appends the keys present to
// `present` when given.
template <typename S, std::size_t N>
[[nodiscard]] core::Result<void> read_fields(const Doc& doc, const std::array<Field<S>, N>& table,
                                             bool env, S& out,
                                             std::vector<std::string>* present = nullptr) {
  for (const Field<S>& f : table) {
    const std::string_view key = env ? f.env : f.name;
    auto got = read_field(doc, key, f.member, out);
    if (!got) return std::unexpected(got.error());
    if (*got && present != nullptr) present->emplace_back(key);
  }
  return {};
}

// Appends the table's keys (env or structured) to a known-keys list for Doc::only().
template <typename S, std::size_t N>
void append_keys(std::vector<std::string_view>& keys, const std::array<Field<S>, N>& table,
                 bool env) {
  for (const Field<S>& f : table) keys.push_back(env ? f.env : f.name);
}

// True when some key of the object starts with `prefix` (the env-style form).
[[nodiscard]] inline bool has_key_prefix(const nlohmann::json& object, std::string_view prefix) {
  for (const auto& [key, value] : object.items()) {
    (void)value;
    if (key.starts_with(prefix)) return true;
  }
  return false;
}

}  // namespace opsready::components::fields
