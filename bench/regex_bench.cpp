// vigil_regex_bench: PCRE2 against the linear-time engine (Hyperscan) on regex searches, side by side.
//
// Hypothesis: on long subjects PCRE2 (JIT) is the faster engine for patterns it can skip through
// (a fixed first character or literal: memchr), and the slower one, by 10 to 30 times, for an
// alternation of names or a character class it must try at every position; the linear engine in
// turn is slow on some bounded repeats. Regex::search() on a long subject moves a pattern to the
// linear engine only where that pays (core/regex.cpp), so after enough searches its time per call
// follows the faster column.
//
// Patterns: from ESCU's PowerShell 4104 Hunting (its cmdlet-name and keyword alternations, the
// base64 class, the `-enc` and `-version 2` forms, literals) and Sigma `re` values. Subjects: a
// PowerShell command line repeated to 100 B .. 16 KB (one subject, searched again and again: a
// pattern that matches early, such as the `--inode` one, takes the same time at every size).
// Reported per pattern and size: ns per search with PCRE2 alone, with the linear engine alone, and
// with search() once it has chosen (searched until it moved to the linear engine, or at most `warm`
// times), and its choice ("-" below Regex::kLongSubject, where search() is always PCRE2's).
// Usage: vigil_regex_bench [WARM_SEARCHES]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/regex.h"

using namespace vigil;

int main(int argc, char** argv) {
  const long warm = argc > 1 ? std::atol(argv[1]) : 200000;
  const std::vector<std::string> patterns = {
      R"((?i)(\$doit))",
      R"([A-Za-z0-9+\/]{44,}([A-Za-z0-9+\/]{4}|[A-Za-z0-9+\/]{3}=|[A-Za-z0-9+\/]{2}==))",
      R"((?i)[-]e(nc*o*d*e*d*c*o*m*m*a*n*d*)*\s+[^-])",
      R"((?i)Add-Exfiltration|Add-Persistence|Add-RegBackdoor|Check-VM|Do-Exfiltration|Exploit-Jboss|Find-Fruit|Get-ApplicationHost|Get-ChromeDump|Get-ClipboardContents|Get-FoxDump|Get-GPPPassword|Get-Keystrokes|LSASecret|Get-PassHash|Invoke-ACLScanner|Invoke-ADSBackdoor|Invoke-ARPScan|Invoke-AllChecks|Invoke-DCSync|Invoke-Mimikittenz|Invoke-NinjaCopy|Invoke-PortScan|PowerView|get-net\S+|invoke-\S+hunter|Install-Service|get-\S+(credent|password)|remoteps|Kerberos.*(policy|ticket))",
      R"((?i)(bitstransfer|mimik|metasp|AssemblyBuilderAccess|Reflection\.Assembly|shellcode|injection|shell\.application|start-process|Rc4ByteStream|lsass\.exe|localadmin|hijack|BackupPrivilege|ngrok|comsvcs|backdoor|brute.?force|Port.?Scan|Exfiltration|exploit|DisableRealtimeMonitoring|beacon))",
      R"((?i)([-]ve*r*s*i*o*n*\s+2))",
      "frombase64",
      R"((?:\s-[^-\s]{0,20}i|\s--inode\s))",
      R"(\s-[FTd]\s)",
      R"(APT\d)",
  };
  const std::string line =
      "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -NoProfile -ExecutionPolicy Bypass -Command \"$x = "
      "New-Object System.IO.MemoryStream; Write-Host 'hello world' ; Get-ChildItem -Path C:\\Users -Recurse | "
      "Where-Object { $_.Length -gt 1000 } | Select-Object FullName\" ";
  auto time_per_call = [](auto&& search, long reps) {
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < reps; ++i) search();
    return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / double(reps);
  };
  std::printf("%-44s %7s %10s %10s %10s %8s\n", "pattern", "bytes", "pcre2 ns", "linear ns", "search ns", "engine");
  for (auto& p : patterns) {
    for (size_t len : {100, 1000, 4000, 16000}) {
      auto re = Regex::compile(p);  // a fresh pattern per size: search() chooses on this size alone
      if (!re.ok()) return 1;
      std::string s;
      while (s.size() < len) s += line;
      s.resize(len);
      const long reps = long(4000000 / len) + 100;
      volatile bool sink = false;
      double pcre = -1, linear = -1;  // -1: that engine gives no answer (PCRE2's limit; no linear form)
      if (re->search_on(Regex::Engine::pcre2, s))
        pcre = time_per_call([&] { sink = re->search_on(Regex::Engine::pcre2, s).value_or(false); }, reps);
      if (re->search_on(Regex::Engine::linear, s))
        linear = time_per_call([&] { sink = re->search_on(Regex::Engine::linear, s).value_or(false); }, reps);
      for (long i = 0; i < warm && re->long_subject_engine() != Regex::Engine::linear; ++i) sink = re->search(s);
      const double chosen = time_per_call([&] { sink = re->search(s); }, reps);
      (void)sink;
      const char* engine = len < Regex::kLongSubject                                 ? "-"
                           : re->long_subject_engine() == Regex::Engine::linear ? "linear"
                                                                                 : "pcre2";
      std::printf("%-44.44s %7zu %10.0f %10.0f %10.0f %8s\n", p.c_str(), len, pcre, linear, chosen, engine);
    }
  }
}
