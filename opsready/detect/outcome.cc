#include "opsready/detect/outcome.h"

#include <string>

namespace opsready::detect {

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::kAccepted:
      return "accepted";
    case Outcome::kDrift:
      return "drift";
    case Outcome::kRefused:
      return "refused";
  }
  return "accepted";
}

std::string_view to_string(Grade g) {
  switch (g) {
    case Grade::kNormal:
      return "normal";
    case Grade::kWarn:
      return "warn";
    case Grade::kAlert:
      return "alert";
    case Grade::kRefused:
      return "refused";
  }
  return "normal";
}

std::string_view to_string(Direction d) {
  switch (d) {
    case Direction::kNone:
      return "none";
    case Direction::kUp:
      return "up";
    case Direction::kDown:
      return "down";
    case Direction::kBoth:
      return "both";
  }
  return "none";
}

std::string_view to_string(Mode m) {
  switch (m) {
    case Mode::kUp:
      return "up";
    case Mode::kDown:
      return "down";
    case Mode::kBoth:
      return "both";
  }
  return "both";
}

core::Result<Mode> parse_mode(std::string_view word) {
  for (Mode m : {Mode::kUp, Mode::kDown, Mode::kBoth}) {
    if (word == to_string(m)) return m;
  }
  return core::fail("unknown_mode",
                    "unknown mode '" + std::string(word) + "' (expected up, down or both)", "mode");
}

}  // namespace opsready::detect
