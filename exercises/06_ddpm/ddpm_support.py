"""Public support for exercise 06: the denoiser network, an Adam optimiser, the 2-D data, a
distance between point clouds and the pictures.

    x, labels = make_data(2000, seed=0)                  # x: (2000, 2) float32, labels: (2000,) int64
    model = Denoiser(n_classes=N_CLASSES, T=50)          # model(x_t, t, cond=None) -> predicted noise
    energy_distance(samples, x)                          # 0 for two samples of the same distribution
    show(plot_samples(x, samples), "samples.png")      # inline in a notebook, else saved as samples.png

Nothing here uses your code. The grader uses the same functions and the same network class: it
rebuilds a Denoiser from its ``config`` and its weights.
"""
import io
import math

import torch
from torch import nn

N_CLASSES = 3
CENTERS = ((0.0, 1.5), (-1.3, -0.75), (1.3, -0.75))  # one mode per class, on a circle of radius 1.5
SPREAD = 0.25                                        # the standard deviation of each mode
COLORS = ("tab:blue", "tab:orange", "tab:green")


class Denoiser(nn.Module):
    """A small network that predicts the noise in x_t: model(x_t, t, cond=None) -> eps of x_t's shape.

    The timestep enters through sinusoidal features of t / T, the class through a learned embedding.
    Class index ``n_classes`` is the null class: "no condition", used when cond is None and for
    classifier-free guidance. The constructor's arguments are kept in ``self.config``, so that
    ``Denoiser(**model.config)`` followed by ``load_state_dict`` rebuilds the same model.

    Inputs of the constructor:
    - dims: int, the dimension D of the data points.
    - hidden: int, the width of the hidden layers.
    - n_classes: int, the number of classes for conditioning (0: unconditional only).
    - T: int, the number of diffusion steps the model is trained for (t runs over 0, ..., T-1).
    - time_features: int (even), the number of sinusoidal features of t.
    - seed: int, seeds the initial weights (the global random state is left untouched).
    """

    def __init__(self, dims=2, hidden=64, n_classes=0, T=1000, time_features=16, seed=0):
        super().__init__()
        if time_features % 2:
            raise ValueError(f"time_features must be even, got {time_features}")
        self.config = dict(dims=dims, hidden=hidden, n_classes=n_classes, T=T,
                           time_features=time_features, seed=seed)
        self.dims, self.n_classes, self.T, self.time_features = dims, n_classes, T, time_features
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.input = nn.Linear(dims + time_features, hidden)
            # one row per class, the last one for the null class; drawn uniformly, as normal_ on
            # PyTorch's meta device (where the grader rebuilds models) loads its compiler for seconds
            weights = torch.empty(n_classes + 1, hidden).uniform_(-0.2, 0.2)
            self.class_embedding = nn.Embedding.from_pretrained(weights, freeze=False)
            self.body = nn.Sequential(nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                      nn.Linear(hidden, hidden), nn.ReLU())
            self.output = nn.Linear(hidden, dims)

    @property
    def null_class(self):
        """The class index that means "no condition"."""
        return self.n_classes

    def time_embedding(self, t, batch, like):
        """Sinusoidal features of t / T: (B, time_features) in the dtype and on the device of ``like``."""
        t = torch.as_tensor(t, device=like.device)
        if t.dim() > 1 or (t.dim() == 1 and t.shape[0] != batch):
            raise ValueError(f"t should be an int or hold one timestep per point ({batch}), "
                             f"got shape {tuple(t.shape)}")
        position = t.to(like.dtype).expand(batch) / self.T                            # (B,) in [0, 1)
        frequencies = math.pi * 2.0 ** torch.arange(self.time_features // 2, device=like.device,
                                                    dtype=like.dtype)                 # (F/2,)
        angles = position[:, None] * frequencies                                      # (B, F/2)
        return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)               # (B, F)

    def forward(self, x_t, t, cond=None):
        """Predicted noise.

        Inputs:
        - x_t: tensor of shape (B, dims), the noisy points, in the model's dtype.
        - t: int, or integer tensor of shape () or (B,): the timesteps, 0-based.
        - cond: None (no condition), an int, or an integer tensor of shape () or (B,): class
          indices in 0, ..., n_classes, where n_classes is the null class.

        Returns:
        - eps: tensor of shape (B, dims), the predicted noise.
        """
        if x_t.dim() != 2 or x_t.shape[1] != self.dims:
            raise ValueError(f"x_t should have shape (B, {self.dims}), got {tuple(x_t.shape)}")
        batch = x_t.shape[0]
        if cond is None:
            cond = self.null_class
        cond = torch.as_tensor(cond, device=x_t.device)
        if cond.is_floating_point() or int(cond.min()) < 0 or int(cond.max()) > self.null_class:
            raise ValueError(f"cond should hold class indices in 0..{self.null_class} "
                             f"({self.null_class}: no condition)")
        features = torch.cat([x_t, self.time_embedding(t, batch, x_t)], dim=1)      # (B, D + F)
        hidden = self.input(features) + self.class_embedding(cond.long().expand(batch))  # (B, H)
        return self.output(self.body(hidden))                                         # (B, D)


class Adam:
    """The Adam optimiser (with bias correction, as in exercise 02) for a network's parameters.

    It has the interface of torch.optim.Adam, which works just as well but takes a few seconds to
    load on a slow machine:

        optimizer = Adam(model.parameters(), lr=1e-3)
        optimizer.zero_grad(); loss.backward(); optimizer.step()

    Inputs of the constructor:
    - params: iterable of tensors that require gradients.
    - lr: float, the learning rate.
    - betas: (float, float), the decay rates of the first and second moment estimates.
    - eps: float, added to the denominator for stability.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params = list(params)
        self.lr, self.betas, self.eps, self.steps = lr, betas, eps, 0
        self.first = [torch.zeros_like(p) for p in self.params]   # running mean of the gradients
        self.second = [torch.zeros_like(p) for p in self.params]  # running mean of their squares

    def zero_grad(self):
        for parameter in self.params:
            parameter.grad = None

    @torch.no_grad()
    def step(self):
        self.steps += 1
        beta1, beta2 = self.betas
        live = [i for i, p in enumerate(self.params) if p.grad is not None]  # the others stay as they are
        params, grads = [self.params[i] for i in live], [self.params[i].grad for i in live]
        first, second = [self.first[i] for i in live], [self.second[i] for i in live]
        # the update of exercise 02, on all the tensors at once
        torch._foreach_lerp_(first, grads, 1 - beta1)
        torch._foreach_mul_(second, beta2)
        torch._foreach_addcmul_(second, grads, grads, value=1 - beta2)
        denominator = torch._foreach_sqrt(second)
        torch._foreach_div_(denominator, (1 - beta2 ** self.steps) ** 0.5)
        torch._foreach_add_(denominator, self.eps)
        torch._foreach_addcdiv_(params, first, denominator, value=-self.lr / (1 - beta1 ** self.steps))


def make_data(n, seed=0):
    """A mixture of N_CLASSES Gaussians in the plane, one per class, with labels.

    Each point picks a class uniformly at random and lies at that class's centre (CENTERS, on a
    circle of radius 1.5) plus N(0, SPREAD²) noise per coordinate.

    Inputs:
    - n: int, the number of points.
    - seed: int, the seed of the data's own random generator.

    Returns a tuple (x, labels):
    - x: float32 tensor of shape (n, 2), the points.
    - labels: int64 tensor of shape (n,), the class of each point, in 0, ..., N_CLASSES - 1.
    """
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(N_CLASSES, (n,), generator=generator)                      # (n,)
    centers = torch.tensor(CENTERS)                                                   # (K, 2)
    x = centers[labels] + SPREAD * torch.randn(n, 2, generator=generator)             # (n, 2)
    return x, labels


def energy_distance(x, y):
    """The energy distance between two point clouds: 0 when they come from one distribution.

    E = 2 mean ||x_i - y_j|| - mean ||x_i - x_j|| - mean ||y_i - y_j||, which is >= 0 and is 0 only
    when the two distributions are equal; for two finite samples it is small but not 0.

    Inputs:
    - x: tensor of shape (N, D); y: tensor of shape (M, D).

    Returns:
    - distance: float.
    """
    x, y = x.detach().double().cpu(), y.detach().double().cpu()
    between = torch.cdist(x, y).mean()
    within_x, within_y = torch.cdist(x, x).mean(), torch.cdist(y, y).mean()
    return float(2 * between - within_x - within_y)


def _scatter(axes, points, labels=None, title=""):
    points = points.detach().double().cpu()
    if labels is None:
        axes.scatter(points[:, 0], points[:, 1], s=4, alpha=0.5, color="tab:gray")
    else:
        for k, color in enumerate(COLORS):
            mine = labels.cpu() == k
            axes.scatter(points[mine, 0], points[mine, 1], s=4, alpha=0.5, color=color, label=f"class {k}")
    axes.set_title(title, fontsize=10)
    axes.set_aspect("equal")
    axes.set_xlim(-3, 3)
    axes.set_ylim(-3, 3)


def plot_samples(data, samples, data_labels=None, sample_labels=None, title="Samples"):
    """The data and the generated samples side by side, on the same axes limits.

    Inputs:
    - data: tensor of shape (N, 2); samples: tensor of shape (M, 2).
    - data_labels, sample_labels: optional int tensors of shape (N,) and (M,): colour by class.
    - title: str, the title of the samples' panel.

    Returns:
    - figure: a matplotlib Figure.
    """
    from matplotlib.figure import Figure  # here, not at the top: the grader's sandbox never draws

    figure = Figure(figsize=(9, 4.5))
    left, right = figure.subplots(1, 2)
    _scatter(left, data, data_labels, "Data")
    _scatter(right, samples, sample_labels,
             f"{title}\n(energy distance to the data: {energy_distance(samples, data):.3f})")
    return figure


def plot_paths(paths, data=None, title="Paths through the reverse process"):
    """A few points on their way from noise (t = T-1, circles) to samples (t = 0, stars).

    Inputs:
    - paths: tensor of shape (S, P, 2): the positions of P points at S successive steps of the
      reverse process, the first row being x_T and the last x_0.
    - data: optional tensor of shape (N, 2), drawn faintly behind the paths.
    - title: str.

    Returns:
    - figure: a matplotlib Figure.
    """
    from matplotlib.figure import Figure

    paths = paths.detach().double().cpu()
    figure = Figure(figsize=(5, 5))
    axes = figure.subplots()
    if data is not None:
        data = data.detach().double().cpu()
        axes.scatter(data[:, 0], data[:, 1], s=3, alpha=0.15, color="tab:gray")
    for point in range(paths.shape[1]):
        line, = axes.plot(paths[:, point, 0], paths[:, point, 1], lw=0.7, alpha=0.7)
        axes.plot(paths[0, point, 0], paths[0, point, 1], "o", color=line.get_color(), ms=5)
        axes.plot(paths[-1, point, 0], paths[-1, point, 1], "*", color=line.get_color(), ms=11,
                  markeredgecolor="black", markeredgewidth=0.5)
    axes.set_title(title, fontsize=10)
    axes.set_aspect("equal")
    return figure


def show(figure, filename):
    """Show a Figure in a notebook; outside one, save it as filename (a PNG) and say where."""
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100)  # a Figure made without pyplot has no inline display
        display(Image(data=buffer.getvalue(), format="png"))
    else:
        figure.savefig(filename, dpi=100)
        print(f"saved the picture as {filename}")
