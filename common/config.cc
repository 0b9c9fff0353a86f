#include "common/config.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/util/json_util.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "fsched/config/v1/options.pb.h"

namespace fsched {
namespace {

using config::v1::FieldRules;
using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

const FieldRules& RulesOf(const FieldDescriptor* f) {
  return f->options().GetExtension(config::v1::rules);
}

bool IsDuration(const FieldDescriptor* f) {
  return f->type() == FieldDescriptor::TYPE_MESSAGE &&
         f->message_type() == google::protobuf::Duration::descriptor();
}

bool IsSection(const FieldDescriptor* f) {
  return f->type() == FieldDescriptor::TYPE_MESSAGE && !IsDuration(f) && !f->is_map();
}

std::string Join(absl::string_view path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

absl::Status Invalid(absl::string_view where, absl::string_view what) {
  return absl::InvalidArgumentError(where.empty() ? std::string(what)
                                                  : absl::StrCat(where, ": ", what));
}

std::string EnumPrefix(const EnumDescriptor* type) {
  // "NodeRole" -> "NODE_ROLE_": the prefix every value of the enum carries.
  std::string prefix;
  for (char c : type->name()) {
    if (absl::ascii_isupper(static_cast<unsigned char>(c)) && !prefix.empty()) prefix += '_';
    prefix += absl::ascii_toupper(static_cast<unsigned char>(c));
  }
  return prefix + "_";
}

std::string EnumChoices(const EnumDescriptor* type) {
  std::vector<std::string> names;
  for (int i = 0; i < type->value_count(); ++i) {
    if (type->value(i)->number() != 0) {
      names.push_back(ConfigEnumName(type, type->value(i)->number()));
    }
  }
  if (names.size() < 2) return absl::StrJoin(names, "");
  return absl::StrCat(absl::StrJoin(names.begin(), names.end() - 1, ", "), " or ", names.back());
}

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// proto3's JSON form of a Duration: seconds with up to nine decimals and an 's'.
std::string DurationJson(absl::Duration d) {
  google::protobuf::Duration proto;
  ToProto(d, &proto);
  const bool negative = proto.seconds() < 0 || proto.nanos() < 0;
  return absl::StrFormat("\"%s%d.%09ds\"", negative ? "-" : "", std::llabs(proto.seconds()),
                         std::abs(proto.nanos()));
}

// Turns the merged YAML tree into proto3 JSON, checking keys and the syntax of
// every scalar on the way so that errors name the YAML path. Ranges are checked
// afterwards, on the typed message (CheckFieldRules), one implementation for
// files, flags and values set in code.
class YamlToJson {
 public:
  absl::Status Section(const YAML::Node& node, const Descriptor* type, const std::string& path,
                       std::string* out) {
    if (!node.IsMap()) return Invalid(path.empty() ? "config" : path, "expected a mapping");
    std::vector<std::string> parts;
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      const FieldDescriptor* f = type->FindFieldByName(key);
      if (f == nullptr) {
        for (int i = 0; i < type->field_count(); ++i) {
          if (RulesOf(type->field(i)).formerly() == key) {
            return Invalid(Join(path, key),
                           absl::StrCat("renamed: write ", Join(path, type->field(i)->name())));
          }
        }
        std::vector<std::string> allowed;
        for (int i = 0; i < type->field_count(); ++i) allowed.push_back(type->field(i)->name());
        std::sort(allowed.begin(), allowed.end());
        return Invalid(Join(path, key),
                       absl::StrCat("unknown key (allowed: ", absl::StrJoin(allowed, ", "), ")"));
      }
      std::string value;
      RETURN_IF_ERROR(Field(kv.second, f, Join(path, key), &value));
      parts.push_back(absl::StrCat(JsonString(key), ":", value));
    }
    *out = absl::StrCat("{", absl::StrJoin(parts, ","), "}");
    return absl::OkStatus();
  }

 private:
  absl::Status Field(const YAML::Node& node, const FieldDescriptor* f, const std::string& path,
                     std::string* out) {
    if (f->is_map()) {
      if (!node.IsMap()) return Invalid(path, "expected a mapping");
      const FieldDescriptor* value_field = f->message_type()->map_value();
      std::vector<std::string> parts;
      for (const auto& kv : node) {
        const std::string key = kv.first.as<std::string>();
        std::string value;
        RETURN_IF_ERROR(Value(kv.second, value_field, RulesOf(f), Join(path, key), &value));
        parts.push_back(absl::StrCat(JsonString(key), ":", value));
      }
      *out = absl::StrCat("{", absl::StrJoin(parts, ","), "}");
      return absl::OkStatus();
    }
    if (f->is_repeated()) {
      if (!node.IsSequence()) return Invalid(path, "expected a list");
      std::vector<std::string> parts;
      for (size_t i = 0; i < node.size(); ++i) {
        std::string value;
        RETURN_IF_ERROR(Value(node[i], f, RulesOf(f), absl::StrCat(path, "[", i, "]"), &value));
        parts.push_back(std::move(value));
      }
      *out = absl::StrCat("[", absl::StrJoin(parts, ","), "]");
      return absl::OkStatus();
    }
    return Value(node, f, RulesOf(f), path, out);
  }

  // One value of f's type (an element, for lists and maps).
  absl::Status Value(const YAML::Node& node, const FieldDescriptor* f, const FieldRules& rules,
                     const std::string& path, std::string* out) {
    if (f->type() == FieldDescriptor::TYPE_MESSAGE && !IsDuration(f)) {
      return Section(node, f->message_type(), path, out);
    }
    if (!node.IsScalar()) {
      return Invalid(path, absl::StrCat("expected ", Expected(f, rules)));
    }
    const std::string text = node.as<std::string>();
    if (IsDuration(f)) {
      absl::StatusOr<absl::Duration> d = ParseDurationText(text);
      if (!d.ok()) return Invalid(path, d.status().message());
      *out = DurationJson(*d);
      return absl::OkStatus();
    }
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        *out = JsonString(text);
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_BOOL:
        if (text != "true" && text != "false") {
          return Invalid(path, absl::StrCat("'", text, "' is not true or false"));
        }
        *out = text;
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64: {
        int64_t v = 0;
        const int64_t max = f->cpp_type() == FieldDescriptor::CPPTYPE_INT32
                                ? std::numeric_limits<int32_t>::max()
                                : std::numeric_limits<int64_t>::max();
        if (!absl::SimpleAtoi(text, &v) || v > max || v < -max - 1) {
          return Invalid(path, absl::StrCat("'", text, "' is not an integer"));
        }
        *out = absl::StrCat(v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64: {
        uint64_t v = 0;
        if (rules.bytes()) {
          absl::StatusOr<uint64_t> size = ParseByteSize(text);
          if (!size.ok()) return Invalid(path, size.status().message());
          v = *size;
        } else if (!absl::SimpleAtoi(text, &v)) {
          return Invalid(path, absl::StrCat("'", text, "' is not a non-negative integer"));
        }
        if (f->cpp_type() == FieldDescriptor::CPPTYPE_UINT32 &&
            v > std::numeric_limits<uint32_t>::max()) {
          return Invalid(path, absl::StrCat("'", text, "' is too large"));
        }
        *out = absl::StrCat(v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT: {
        double v = 0;
        if (!absl::SimpleAtod(text, &v) || !std::isfinite(v)) {
          return Invalid(path, absl::StrCat("'", text, "' is not a number"));
        }
        *out = absl::StrFormat("%.17g", v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        const EnumDescriptor* type = f->enum_type();
        std::string name = EnumPrefix(type);
        for (char c : text)
          name += c == '-' ? '_' : absl::ascii_toupper(static_cast<unsigned char>(c));
        const auto* value = type->FindValueByName(name);
        const bool written_as_named =
            text.find('_') == std::string::npos && absl::AsciiStrToLower(text) == text;
        if (value == nullptr || value->number() == 0 || !written_as_named) {
          for (int i = 0; i < type->value_count(); ++i) {
            const auto& options = type->value(i)->options();
            for (int n = 0; n < options.ExtensionSize(config::v1::formerly_named); ++n) {
              if (options.GetExtension(config::v1::formerly_named, n) == text) {
                return Invalid(path,
                               absl::StrCat("'", text, "' was renamed '",
                                            ConfigEnumName(type, type->value(i)->number()), "'"));
              }
            }
          }
          return Invalid(path, absl::StrCat("'", text, "' is not one of ", EnumChoices(type)));
        }
        *out = JsonString(value->name());
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        break;
    }
    return absl::InternalError(absl::StrCat(path, ": a field type the config loader cannot read"));
  }

  static std::string Expected(const FieldDescriptor* f, const FieldRules& rules) {
    if (IsDuration(f)) return "a duration";
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        return "a string";
      case FieldDescriptor::CPPTYPE_BOOL:
        return "true or false";
      case FieldDescriptor::CPPTYPE_ENUM:
        return absl::StrCat("one of ", EnumChoices(f->enum_type()));
      default:
        return rules.bytes() ? "a byte size" : "a number";
    }
  }
};

// The schema's defaults as a YAML tree, so that they go through exactly the
// parsing and checks a file does.
YAML::Node DefaultsTree(const Descriptor* type) {
  YAML::Node tree(YAML::NodeType::Map);
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* f = type->field(i);
    if (f->is_repeated()) continue;
    if (IsSection(f)) {
      YAML::Node section = DefaultsTree(f->message_type());
      if (section.size() > 0) tree[f->name()] = section;
    } else if (!RulesOf(f).default_value().empty()) {
      tree[f->name()] = RulesOf(f).default_value();
    }
  }
  return tree;
}

// `overlay` over `base`: maps merge key by key; anything else replaces.
YAML::Node Merge(const YAML::Node& base, const YAML::Node& overlay) {
  if (!base.IsMap() || !overlay.IsMap()) return YAML::Clone(overlay);
  YAML::Node merged = YAML::Clone(base);
  for (const auto& kv : overlay) {
    const std::string key = kv.first.as<std::string>();
    merged[key] = base[key] ? Merge(base[key], kv.second) : YAML::Clone(kv.second);
  }
  return merged;
}

absl::Status ApplyOverride(const ConfigOverride& o, YAML::Node* tree) {
  const std::vector<std::string> keys = absl::StrSplit(o.path, '.');
  YAML::Node node = *tree;
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    if (!node[keys[i]] || !node[keys[i]].IsMap()) {
      if (node[keys[i]] && !node[keys[i]].IsNull()) {
        return Invalid(absl::StrJoin(keys.begin(), keys.begin() + i + 1, "."),
                       "expected a mapping");
      }
      node[keys[i]] = YAML::Node(YAML::NodeType::Map);
    }
    node.reset(node[keys[i]]);
  }
  node[keys.back()] = o.value;
  return absl::OkStatus();
}

// Bounds are written as in YAML, so they parse the way a value of the field does.
absl::StatusOr<double> BoundOf(const FieldDescriptor* f, const std::string& text) {
  if (IsDuration(f)) {
    ASSIGN_OR_RETURN(absl::Duration d, ParseDurationText(text));
    return absl::ToDoubleSeconds(d);
  }
  if (RulesOf(f).bytes()) {
    ASSIGN_OR_RETURN(uint64_t v, ParseByteSize(text));
    return static_cast<double>(v);
  }
  double v = 0;
  if (!absl::SimpleAtod(text, &v)) return absl::InternalError("bad bound");
  return v;
}

absl::Status CheckRange(const FieldDescriptor* f, const FieldRules& rules, double value,
                        const std::string& path) {
  if (IsDuration(f) && rules.min().empty()) {
    if (value <= 0) return Invalid(path, "must be positive");
    return absl::OkStatus();
  }
  if (!rules.min().empty()) {
    absl::StatusOr<double> min = BoundOf(f, rules.min());
    if (!min.ok()) return Invalid(path, "the schema's min does not parse");
    if (rules.min_exclusive() && !(value > *min)) {
      return Invalid(path, absl::StrCat("must be above ", rules.min()));
    }
    if (!(value >= *min)) {
      return Invalid(path, IsDuration(f) && *min == 0
                               ? std::string("must not be negative")
                               : absl::StrCat("must be at least ", rules.min()));
    }
  }
  if (!rules.max().empty()) {
    absl::StatusOr<double> max = BoundOf(f, rules.max());
    if (!max.ok()) return Invalid(path, "the schema's max does not parse");
    if (!(value <= *max)) return Invalid(path, absl::StrCat("must be at most ", rules.max()));
  }
  return absl::OkStatus();
}

absl::Status CheckFormat(config::v1::Format format, const std::string& text,
                         const std::string& path) {
  switch (format) {
    case config::v1::FORMAT_HOST_PORT_OR_EMPTY:
      if (text.empty()) return absl::OkStatus();
      if (text.find(':') == std::string::npos) {
        return Invalid(path, absl::StrCat("'", text, "' is not host:port (empty turns it off)"));
      }
      return absl::OkStatus();
    case config::v1::FORMAT_HOST_PORT:
      if (text.find(':') == std::string::npos) {
        return Invalid(path, absl::StrCat("'", text, "' is not host:port"));
      }
      return absl::OkStatus();
    case config::v1::FORMAT_ABSOLUTE_PATH:
      if (text.empty() || text[0] != '/') return Invalid(path, "must be an absolute path");
      return absl::OkStatus();
    case config::v1::FORMAT_NAME:
      if (text.empty() ||
          text.find_first_not_of(
              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
              std::string::npos) {
        return Invalid(path, "must be a non-empty name of letters, digits, '.', '_' and '-'");
      }
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

// Checks one value of f (an element, for lists and maps) held at index (or -1).
absl::Status CheckValue(const Message& message, const FieldDescriptor* f, int index,
                        const FieldRules& rules, const std::string& path) {
  const Reflection* r = message.GetReflection();
  const bool repeated = index >= 0;
  if (f->type() == FieldDescriptor::TYPE_MESSAGE) {
    const Message& value =
        repeated ? r->GetRepeatedMessage(message, f, index) : r->GetMessage(message, f);
    if (!IsDuration(f)) return CheckFieldRules(value, path);
    return CheckRange(
        f, rules,
        absl::ToDoubleSeconds(FromProto(static_cast<const google::protobuf::Duration&>(value))),
        path);
  }
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string v =
          repeated ? r->GetRepeatedString(message, f, index) : r->GetString(message, f);
      if (rules.required() && v.empty()) return Invalid(path, "is required");
      return CheckFormat(rules.format(), v, path);
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int v =
          repeated ? r->GetRepeatedEnumValue(message, f, index) : r->GetEnumValue(message, f);
      if (v == 0 && rules.required()) {
        return Invalid(path, absl::StrCat("is required: one of ", EnumChoices(f->enum_type())));
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT32:
      return CheckRange(f, rules,
                        repeated ? r->GetRepeatedInt32(message, f, index) : r->GetInt32(message, f),
                        path);
    case FieldDescriptor::CPPTYPE_INT64:
      return CheckRange(f, rules,
                        static_cast<double>(repeated ? r->GetRepeatedInt64(message, f, index)
                                                     : r->GetInt64(message, f)),
                        path);
    case FieldDescriptor::CPPTYPE_UINT32:
      return CheckRange(
          f, rules, repeated ? r->GetRepeatedUInt32(message, f, index) : r->GetUInt32(message, f),
          path);
    case FieldDescriptor::CPPTYPE_UINT64:
      return CheckRange(f, rules,
                        static_cast<double>(repeated ? r->GetRepeatedUInt64(message, f, index)
                                                     : r->GetUInt64(message, f)),
                        path);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return CheckRange(
          f, rules, repeated ? r->GetRepeatedDouble(message, f, index) : r->GetDouble(message, f),
          path);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return CheckRange(f, rules,
                        repeated ? r->GetRepeatedFloat(message, f, index) : r->GetFloat(message, f),
                        path);
    default:
      return absl::OkStatus();
  }
}

void EmitValue(const Message& message, const FieldDescriptor* f, int index, YAML::Emitter* out);

void EmitMessage(const Message& message, YAML::Emitter* out) {
  const Descriptor* type = message.GetDescriptor();
  const Reflection* r = message.GetReflection();
  *out << YAML::BeginMap;
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* f = type->field(i);
    *out << YAML::Key << f->name() << YAML::Value;
    if (f->is_map()) {
      *out << YAML::BeginMap;
      // Sorted, so the output is the same from run to run.
      std::map<std::string, const Message*> entries;
      for (int j = 0; j < r->FieldSize(message, f); ++j) {
        const Message& entry = r->GetRepeatedMessage(message, f, j);
        entries[entry.GetReflection()->GetString(entry, entry.GetDescriptor()->map_key())] = &entry;
      }
      for (const auto& [key, entry] : entries) {
        *out << YAML::Key << key << YAML::Value;
        EmitValue(*entry, entry->GetDescriptor()->map_value(), -1, out);
      }
      *out << YAML::EndMap;
    } else if (f->is_repeated()) {
      *out << YAML::BeginSeq;
      for (int j = 0; j < r->FieldSize(message, f); ++j) EmitValue(message, f, j, out);
      *out << YAML::EndSeq;
    } else {
      EmitValue(message, f, -1, out);
    }
  }
  *out << YAML::EndMap;
}

void EmitValue(const Message& message, const FieldDescriptor* f, int index, YAML::Emitter* out) {
  const Reflection* r = message.GetReflection();
  const bool repeated = index >= 0;
  if (f->type() == FieldDescriptor::TYPE_MESSAGE) {
    const Message& value =
        repeated ? r->GetRepeatedMessage(message, f, index) : r->GetMessage(message, f);
    if (IsDuration(f)) {
      *out << absl::FormatDuration(
          FromProto(static_cast<const google::protobuf::Duration&>(value)));
    } else {
      EmitMessage(value, out);
    }
    return;
  }
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string v =
          repeated ? r->GetRepeatedString(message, f, index) : r->GetString(message, f);
      *out << (RulesOf(f).secret() && !v.empty() ? std::string("<redacted>") : v);
      return;
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      *out << ((repeated ? r->GetRepeatedBool(message, f, index) : r->GetBool(message, f))
                   ? "true"
                   : "false");
      return;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int v =
          repeated ? r->GetRepeatedEnumValue(message, f, index) : r->GetEnumValue(message, f);
      *out << (v == 0 ? std::string("") : ConfigEnumName(f->enum_type(), v));
      return;
    }
    case FieldDescriptor::CPPTYPE_INT32:
      *out << (repeated ? r->GetRepeatedInt32(message, f, index) : r->GetInt32(message, f));
      return;
    case FieldDescriptor::CPPTYPE_INT64:
      *out << (repeated ? r->GetRepeatedInt64(message, f, index) : r->GetInt64(message, f));
      return;
    case FieldDescriptor::CPPTYPE_UINT32:
      *out << (repeated ? r->GetRepeatedUInt32(message, f, index) : r->GetUInt32(message, f));
      return;
    case FieldDescriptor::CPPTYPE_UINT64:
      *out << (repeated ? r->GetRepeatedUInt64(message, f, index) : r->GetUInt64(message, f));
      return;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      *out << absl::StrFormat(
          "%.17g", repeated ? r->GetRepeatedDouble(message, f, index) : r->GetDouble(message, f));
      return;
    case FieldDescriptor::CPPTYPE_FLOAT:
      *out << (repeated ? r->GetRepeatedFloat(message, f, index) : r->GetFloat(message, f));
      return;
    default:
      return;
  }
}

}  // namespace

std::string ConfigEnumName(const EnumDescriptor* type, int value) {
  const auto* v = type->FindValueByNumber(value);
  if (v == nullptr) return absl::StrCat(value);
  std::string name = v->name();
  const std::string prefix = EnumPrefix(type);
  if (absl::StartsWith(name, prefix)) name = name.substr(prefix.size());
  for (char& c : name) c = c == '_' ? '-' : absl::ascii_tolower(static_cast<unsigned char>(c));
  return name;
}

absl::Status ReadYamlInto(absl::string_view yaml_text, const std::vector<ConfigOverride>& overrides,
                          Message* out) {
  std::string json;
  try {
    YAML::Node user;
    try {
      user = YAML::Load(std::string(yaml_text));
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(absl::StrCat("config: not valid YAML: ", e.what()));
    }
    YAML::Node tree = DefaultsTree(out->GetDescriptor());
    if (user && !user.IsNull()) {
      if (!user.IsMap()) return Invalid("config", "expected a mapping of keys to values");
      tree = Merge(tree, user);
    }
    for (const ConfigOverride& o : overrides) {
      absl::Status applied = ApplyOverride(o, &tree);
      if (!applied.ok()) return Invalid("config", applied.message());
    }
    absl::Status converted = YamlToJson().Section(tree, out->GetDescriptor(), "", &json);
    if (!converted.ok()) return Invalid("config", converted.message());
  } catch (const YAML::Exception& e) {
    // yaml-cpp reports type mismatches by exception; they stop at this boundary.
    return absl::InvalidArgumentError(absl::StrCat("config: ", e.what()));
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  out->Clear();
  if (auto parsed = google::protobuf::util::JsonStringToMessage(json, out, options); !parsed.ok()) {
    return absl::InternalError(absl::StrCat("config: the loader wrote JSON the schema refused (",
                                            parsed.message().as_string(), "): ", json));
  }
  if (absl::Status checked = CheckFieldRules(*out); !checked.ok()) {
    return Invalid("config", checked.message());
  }
  return absl::OkStatus();
}

absl::Status CheckFieldRules(const Message& message, absl::string_view where) {
  const Descriptor* type = message.GetDescriptor();
  const Reflection* r = message.GetReflection();
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* f = type->field(i);
    const FieldRules& rules = RulesOf(f);
    const std::string path = Join(where, f->name());
    if (f->is_map()) {
      const FieldDescriptor* value_field = f->message_type()->map_value();
      for (int j = 0; j < r->FieldSize(message, f); ++j) {
        const Message& entry = r->GetRepeatedMessage(message, f, j);
        const std::string key =
            entry.GetReflection()->GetString(entry, entry.GetDescriptor()->map_key());
        RETURN_IF_ERROR(CheckValue(entry, value_field, -1, rules, Join(path, key)));
      }
    } else if (f->is_repeated()) {
      for (int j = 0; j < r->FieldSize(message, f); ++j) {
        RETURN_IF_ERROR(CheckValue(message, f, j, rules, absl::StrCat(path, "[", j, "]")));
      }
    } else {
      RETURN_IF_ERROR(CheckValue(message, f, -1, rules, path));
    }
  }
  return absl::OkStatus();
}

void FillConfigDefaults(Message* message) {
  if (absl::Status s = ReadYamlInto("", {}, message); !s.ok()) {
    std::fprintf(stderr, "fsched: the config schema's defaults do not load: %s\n",
                 std::string(s.message()).c_str());
    std::abort();
  }
}

absl::StatusOr<Config> ParseConfig(absl::string_view yaml_text,
                                   const std::vector<ConfigOverride>& overrides) {
  Config config;
  RETURN_IF_ERROR(ReadYamlInto(yaml_text, overrides, &config));
  return config;
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path,
                                      const std::vector<ConfigOverride>& overrides) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("config: cannot read '", path, "'"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto config = ParseConfig(buffer.str(), overrides);
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

std::string ConfigToYaml(const Message& message) {
  YAML::Emitter out;
  EmitMessage(message, &out);
  return std::string(out.c_str()) + "\n";
}

absl::StatusOr<absl::Duration> ParseDurationText(const std::string& text) {
  const std::string trimmed(absl::StripAsciiWhitespace(text));
  double seconds = 0;
  if (absl::SimpleAtod(trimmed, &seconds)) return absl::Seconds(seconds);
  absl::Duration d;
  if (!absl::ParseDuration(trimmed, &d)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a duration (examples: 500ms, 2s, 1m30s)"));
  }
  return d;
}

absl::StatusOr<uint64_t> ParseByteSize(const std::string& text) {
  const std::string t(absl::StripAsciiWhitespace(text));
  size_t digits = 0;
  while (digits < t.size() && absl::ascii_isdigit(static_cast<unsigned char>(t[digits]))) ++digits;
  uint64_t value = 0;
  if (digits == 0 || !absl::SimpleAtoi(t.substr(0, digits), &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a byte size (examples: 4096, 64KiB, 1MiB)"));
  }
  const std::string unit(absl::StripAsciiWhitespace(t.substr(digits)));
  static const std::map<std::string, uint64_t> kUnits = {
      {"", 1},      {"B", 1},        {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
      {"KB", 1000}, {"MB", 1000000}, {"GB", 1000000000}};
  auto it = kUnits.find(unit);
  if (it == kUnits.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' has an unknown unit (use B, KiB, MiB, GiB, KB, MB, GB)"));
  }
  return value * it->second;
}

}  // namespace fsched
