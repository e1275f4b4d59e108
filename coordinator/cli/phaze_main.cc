// phaze: the command line. Verbs that work offline (models, space, layer) and, later, the client
// of a coordinator. Errors go to stderr with a non-zero exit code.
#include <malloc.h>

#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "coordinator/cli/client_commands.h"

namespace {

int Report(const absl::Status& status) {
  if (status.ok()) return 0;
  std::cerr << "phaze: " << status.message() << "\n";
  return status.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  // CBC allocates and frees large blocks for every MILP; with glibc's default thresholds each one
  // is an mmap/munmap pair and the process spends as much time in the kernel as in the solver.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  CLI::App app{"phaze: integrated accelerator architecture and device placement search"};
  app.require_subcommand(1);

  CLI::App* models = app.add_subcommand("models", "List the built-in model zoo");

  std::string space_job;
  CLI::App* space = app.add_subcommand("space", "Describe a job's architecture space");
  space->add_option("job", space_job, "Job file (YAML)")->required();

  std::string predict_job;
  bool predict_json = false;
  CLI::App* predict = app.add_subcommand(
      "predict", "Predict one training step of a job's chip and strategy, term by term");
  predict->add_option("job", predict_job, "Job file (YAML) with a fixed chip")->required();
  predict->add_flag("--json", predict_json, "Print JSON");

  std::string validate_file;
  bool validate_json = false;
  CLI::App* validate =
      app.add_subcommand("validate", "Predict published training runs and print the error of each");
  validate->add_option("runs", validate_file, "Runs file (tests/validation/published-runs.json)")
      ->required();
  validate->add_flag("--json", validate_json, "Print JSON");

  bool chips_json = false;
  std::string chips_job;
  CLI::App* chips = app.add_subcommand(
      "chips",
      "The chip area and power model against published dies (A100, H100, TPU v4), or the bill "
      "of a job's fixed chips");
  chips->add_option("job", chips_job, "Job file (YAML) with fixed chips (default: published dies)");
  chips->add_flag("--json", chips_json, "Print JSON");

  phaze::cli::LayerArgs layer_args;
  CLI::App* layer =
      app.add_subcommand("layer", "Show every operator of every layer with latencies");
  layer->add_option("--job", layer_args.job,
                    "Job file: its model, fixed chip, network and graph options");
  layer->add_option("--model", layer_args.model, "Zoo model name (without --job)");
  layer->add_option("--arch", layer_args.arch, "Architecture preset")->capture_default_str();
  layer->add_option("--mbs", layer_args.micro_batch, "Micro-batch size")->capture_default_str();
  layer->add_option("--tp", layer_args.tensor_width, "Tensor-parallel width")
      ->capture_default_str();
  layer->add_flag("--compat", layer_args.compat, "Use the original PHAZE cost model and backward");
  layer->add_flag("--json", layer_args.json, "Print JSON");
  layer->add_option("--time-limit", layer_args.time_limit_s,
                    "Seconds per layer schedule (default: the job's solver.time_limit_s, 10)");

  phaze::cli::RunArgs run_args;
  CLI::App* run = app.add_subcommand("run", "Run a whole search on this machine");
  run->add_option("job", run_args.job_path, "Job file (YAML)")->required();
  run->add_option("--out", run_args.out_dir, "Output folder")->capture_default_str();
  run->add_option("--threads", run_args.threads, "Worker threads (0: every core)")
      ->capture_default_str();
  bool quiet = false;
  run->add_flag("--quiet", quiet, "No progress bar");
  bool in_process = false;
  run->add_flag("--in-process", in_process,
                "Evaluate on threads in this process, without the embedded coordinator");

  phaze::cli::CompareArgs compare_args;
  CLI::App* compare = app.add_subcommand(
      "compare", "The paper's comparison (a)-(e) for one job, in this process (docs/results.md)");
  compare->add_option("job", compare_args.job_path, "Job file (YAML) with a space")->required();
  compare->add_option("--out", compare_args.out_dir, "Output folder")->capture_default_str();
  compare->add_option("--threads", compare_args.threads, "Threads (0: every core)")
      ->capture_default_str();

  std::string coordinator = "127.0.0.1:50051";
  std::string token_file;
  phaze::TlsClientFiles tls;
  auto with_coordinator = [&coordinator, &token_file, &tls](CLI::App* cmd) {
    cmd->add_option("--coordinator", coordinator, "Coordinator address HOST:PORT")
        ->capture_default_str();
    cmd->add_option("--token-file", token_file,
                    "File holding the bearer token (else $PHAZE_TOKEN)");
    phaze::AddTlsClientFlags(cmd, &tls);
    return cmd;
  };
  std::string submit_job;
  bool submit_watch = false;
  CLI::App* submit =
      with_coordinator(app.add_subcommand("submit", "Submit a job to a coordinator"));
  submit->add_option("job", submit_job, "Job file (YAML)")->required();
  submit->add_flag("--watch", submit_watch, "Follow the job until it ends");
  std::string job_id;
  CLI::App* status = with_coordinator(app.add_subcommand("status", "Show a job's status"));
  status->add_option("id", job_id, "Job id")->required();
  CLI::App* watch =
      with_coordinator(app.add_subcommand("watch", "Follow a job with a progress bar"));
  watch->add_option("id", job_id, "Job id")->required();
  CLI::App* cancel = with_coordinator(app.add_subcommand("cancel", "Cancel a job"));
  cancel->add_option("id", job_id, "Job id")->required();
  CLI::App* jobs = with_coordinator(app.add_subcommand("jobs", "List the coordinator's jobs"));
  std::string format = "json";
  CLI::App* results = with_coordinator(app.add_subcommand("results", "Print a job's results"));
  results->add_option("id", job_id, "Job id")->required();
  results->add_option("--format", format, "json (best and front) or csv (every row)")
      ->capture_default_str();

  std::string report_out;
  CLI::App* report = with_coordinator(
      app.add_subcommand("report", "Write a job's HTML page (front plot, best point, progress)"));
  report->add_option("id", job_id, "Job id")->required();
  report->add_option("--out", report_out, "HTML file to write (default: ID.html)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (*models) return Report(phaze::cli::ListModels(std::cout));
  if (*space) return Report(phaze::cli::DescribeSpace(space_job, std::cout));
  if (*predict) return Report(phaze::cli::PredictJob(predict_job, predict_json, std::cout));
  if (*validate) {
    return Report(phaze::cli::ValidateRuns(validate_file, validate_json, std::cout));
  }
  if (*chips) return Report(phaze::cli::ValidateChips(chips_job, chips_json, std::cout));
  if (*layer) return Report(phaze::cli::DescribeLayers(layer_args, std::cout));
  if (*compare) return Report(phaze::cli::CompareJob(compare_args, std::cout));
  if (*run) {
    run_args.progress = !quiet;
    return Report(in_process ? phaze::cli::RunJob(run_args, std::cout)
                             : phaze::cli::RunEmbedded(run_args, std::cout));
  }
  absl::StatusOr<std::string> token = phaze::cli::LoadToken(token_file);
  if (!token.ok()) return Report(token.status());
  const phaze::cli::ClientOptions client{coordinator, *token, tls};
  if (*submit) return Report(phaze::cli::Submit(client, submit_job, submit_watch, std::cout));
  if (*status) return Report(phaze::cli::Status(client, job_id, std::cout));
  if (*watch) return Report(phaze::cli::Watch(client, job_id, std::cout));
  if (*cancel) return Report(phaze::cli::Cancel(client, job_id, std::cout));
  if (*jobs) return Report(phaze::cli::Jobs(client, std::cout));
  if (*results) return Report(phaze::cli::Results(client, job_id, format, std::cout));
  if (*report) {
    return Report(phaze::cli::WriteReport(
        client, job_id, report_out.empty() ? job_id + ".html" : report_out, std::cout));
  }
  return 0;
}
