// rnnkit's CPU inference kernels: the recurrence as a C++ loop, for inference (no autograd).
//
// Python pays several microseconds per tensor operation; a GRU step is ~8 of them, so at batch 1 the
// interpreter, not the arithmetic, sets the speed. Here each step is one or two GEMMs into preallocated
// buffers (ATen/MKL) and one pass of plain C++ over the gates. Weights
// arrive transposed and contiguous, W^T (in, G*H), so the GEMV streams memory in order. The equations are those of rnnkit/nn/cells.py.
#include <torch/extension.h>

#include <cmath>
#include <cstring>
#include <string>

namespace {

enum class Kind { RnnTanh, RnnRelu, Lstm, Gru, GruResetBefore };

Kind kind_of(const std::string& name) {
  if (name == "rnn") return Kind::RnnTanh;
  if (name == "rnn-relu") return Kind::RnnRelu;
  if (name == "lstm") return Kind::Lstm;
  if (name == "gru") return Kind::Gru;
  if (name == "gru-reset-before") return Kind::GruResetBefore;
  TORCH_CHECK(false, "rnnkit infer: unknown cell ", name);
}

// Buffers and weight slices of a GRU, made once per call rather than once per step.
struct GruWork {
  GruWork(const torch::Tensor& w_hh_t, int64_t B, int64_t H, const torch::TensorOptions& options)
      : gh(torch::empty({B, 3 * H}, options)), rh(torch::empty({B, H}, options)), rz(torch::empty({B, 2 * H}, options)),
        n(torch::empty({B, H}, options)), gh_rz(gh.narrow(1, 0, 2 * H)), gh_n(gh.narrow(1, 2 * H, H)), w(w_hh_t),
        w_rz(w_hh_t.narrow(1, 0, 2 * H)), w_n(w_hh_t.narrow(1, 2 * H, H)) {}
  torch::Tensor gh, rh, rz, n, gh_rz, gh_n, w, w_rz, w_n;
};

// One GRU step given gi = x W_ih^T + b_ih (B, 3H); h (the tensor h_t) is updated in place, also written to `out`.
// The pre-activations are gathered into contiguous buffers and squashed by one vectorised ATen call each
// (sigmoid over [r | z], tanh over n): a scalar exp/tanh per unit cost more than the GEMM at batch 1.
void gru_step(const float* gi, float* h, float* out, const torch::Tensor& h_t, const float* b_hh, GruWork& work,
              bool reset_before, int64_t B, int64_t H) {
  const float* ghp = work.gh.data_ptr<float>();
  float* rzp = work.rz.data_ptr<float>();
  float* np = work.n.data_ptr<float>();
  at::mm_out(reset_before ? work.gh_rz : work.gh, h_t, reset_before ? work.w_rz : work.w);
  for (int64_t b = 0; b < B; ++b)  // [r | z] = σ(W_i[r|z] x + b_i + W_h[r|z] h + b_h)
    for (int64_t j = 0; j < 2 * H; ++j) rzp[b * 2 * H + j] = gi[b * 3 * H + j] + ghp[b * 3 * H + j] + b_hh[j];
  at::sigmoid_(work.rz);
  if (reset_before) {  // n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)
    float* rhp = work.rh.data_ptr<float>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j) rhp[b * H + j] = rzp[b * 2 * H + j] * h[b * H + j];
    at::mm_out(work.gh_n, work.rh, work.w_n);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j) {
        const int64_t k = b * 3 * H + 2 * H + j;
        np[b * H + j] = gi[k] + ghp[k] + b_hh[2 * H + j];
      }
  } else {  // n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j) {
        const int64_t k = b * 3 * H + 2 * H + j;
        np[b * H + j] = gi[k] + rzp[b * 2 * H + j] * (ghp[k] + b_hh[2 * H + j]);
      }
  }
  at::tanh_(work.n);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < H; ++j) {
      const float z = rzp[b * 2 * H + H + j], nv = np[b * H + j];
      out[b * H + j] = nv + z * (h[b * H + j] - nv);  // (1 - z) n + z h
    }
  std::memcpy(h, out, sizeof(float) * B * H);
}

}  // namespace

// A GRU (either form) over a whole sequence: gi (T, B, 3H), h0 (B, H) -> out (T, B, H), h_T (B, H).
std::vector<torch::Tensor> gru_sequence(const torch::Tensor& gi, const torch::Tensor& h0, const torch::Tensor& w_hh_t,
                                        const torch::Tensor& b_hh, bool reset_before) {
  TORCH_CHECK(gi.scalar_type() == torch::kFloat && gi.is_contiguous() && w_hh_t.is_contiguous(),
              "rnnkit infer: float32 contiguous tensors expected");
  const int64_t T = gi.size(0), B = gi.size(1), H = h0.size(1);
  auto out = torch::empty({T, B, H}, gi.options());
  auto h = h0.contiguous().clone();
  GruWork work(w_hh_t, B, H, gi.options());
  const float* bh = b_hh.data_ptr<float>();
  const float* gip = gi.data_ptr<float>();
  float* outp = out.data_ptr<float>();
  for (int64_t t = 0; t < T; ++t)
    gru_step(gip + t * B * 3 * H, h.data_ptr<float>(), outp + t * B * H, h, bh, work, reset_before, B, H);
  return {out, h};
}

// One step of any cell: x (B, I), h (B, H)[, c (B, H)] -> new h[, new c].
std::vector<torch::Tensor> cell_step(const std::string& cell, const torch::Tensor& x, const torch::Tensor& h,
                                     const torch::Tensor& c, const torch::Tensor& w_ih_t, const torch::Tensor& b_ih,
                                     const torch::Tensor& w_hh_t, const torch::Tensor& b_hh) {
  const Kind kind = kind_of(cell);
  const int64_t B = x.size(0), H = h.size(1);
  auto gi = at::addmm(b_ih, x, w_ih_t);  // (B, G*H) = x W_ih^T + b_ih
  const float* bh = b_hh.data_ptr<float>();
  if (kind == Kind::Gru || kind == Kind::GruResetBefore) {
    auto hn = h.contiguous().clone();
    auto out = torch::empty_like(hn);
    GruWork work(w_hh_t, B, H, x.options());
    gru_step(gi.data_ptr<float>(), hn.data_ptr<float>(), out.data_ptr<float>(), hn, bh, work,
             kind == Kind::GruResetBefore, B, H);
    return {out};
  }
  auto gates = at::addmm(gi, h, w_hh_t).add_(b_hh);  // x W_ih^T + b_ih + h W_hh^T + b_hh
  if (kind == Kind::Lstm) {  // gates [i | f | g | o]: one vectorised squash per block, as in gru_step
    gates.narrow(1, 0, 2 * H).sigmoid_();
    gates.narrow(1, 2 * H, H).tanh_();
    gates.narrow(1, 3 * H, H).sigmoid_();
    const float* g = gates.data_ptr<float>();
    auto cn = torch::empty({B, H}, x.options());
    const float* cp = c.contiguous().data_ptr<float>();
    float* cnp = cn.data_ptr<float>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j) {
        const int64_t k = b * 4 * H + j;
        cnp[b * H + j] = g[k + H] * cp[b * H + j] + g[k] * g[k + 2 * H];  // c_t = f c + i g
      }
    auto hn = at::tanh(cn);
    float* hp = hn.data_ptr<float>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j) hp[b * H + j] *= g[b * 4 * H + 3 * H + j];  // h_t = o tanh(c_t)
    return {hn, cn};
  }
  return {kind == Kind::RnnTanh ? gates.tanh_() : gates.relu_()};
}

// One step of a whole stack of layers (streaming), one call from Python per step:
// x (B, I), h (L, B, H)[, c (L, B, H)], weights = per layer [W_ih^T, b_ih, W_hh^T, b_hh]
// -> {top output (B, H), new h (L, B, H)[, new c (L, B, H)]}.
std::vector<torch::Tensor> stack_step(const std::string& cell, const torch::Tensor& x, const torch::Tensor& h,
                                      const torch::Tensor& c, const std::vector<torch::Tensor>& weights) {
  const int64_t L = h.size(0);
  const bool lstm = kind_of(cell) == Kind::Lstm;
  std::vector<torch::Tensor> hs, cs;
  torch::Tensor inp = x;
  for (int64_t l = 0; l < L; ++l) {
    auto r = cell_step(cell, inp, h[l], lstm ? c[l] : h[l], weights[4 * l], weights[4 * l + 1], weights[4 * l + 2],
                       weights[4 * l + 3]);
    hs.push_back(r[0]);
    if (lstm) cs.push_back(r[1]);
    inp = r[0];
  }
  if (lstm) return {inp, torch::stack(hs), torch::stack(cs)};
  return {inp, torch::stack(hs)};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("stack_step", &stack_step, "one step of a stack of layers (inference)");
  m.def("gru_sequence", &gru_sequence, "GRU over a sequence (inference)");
}
