"""The linear-VAE demo prints the right collapsed counts for a tiny data set."""

import re

import numpy as np
from scipy.linalg import hadamard

from linear_vae.demo import main


def test_demo_table_counts(tmp_path, capsys):
    # Columns of a Hadamard matrix: zero mean, orthogonal -> covariance (ddof=0) = diag(lam)
    lam = np.array([4.0, 2.5, 1.0, 0.25])
    X = hadamard(8)[:, 1:5] * np.sqrt(lam)
    path = tmp_path / "x.npy"
    np.save(path, X)
    assert main(["--npy", str(path), "--k", "3", "--sigma2", "0.1", "1.5", "3", "5"]) == 0
    out = capsys.readouterr().out
    assert "n=8  d=4" in out
    rows = {
        float(m[0]): (int(m[1]), int(m[2]), m[3].strip())
        for m in re.findall(r"^ *([\d.e+-]+) +(\d+) +(\d+)/3 +\S+ *(.*)$", out, re.M)
    }
    # k = 3 uses eigenvalues 4, 2.5, 1: collapsed = #{lam_i <= sigma2, i <= 3}
    assert rows[0.1][:2] == (3, 0)
    assert rows[0.5][:2] == (3, 0) and rows[0.5][2].startswith("MSE summed")
    assert rows[1.5][:2] == (2, 1)
    assert rows[2.0][:2] == (2, 1) and rows[2.0][2].startswith("MSE averaged")
    assert rows[3.0][:2] == (1, 2)
    assert rows[5.0][:2] == (0, 3)
    learned = [v for v in rows.values() if v[2].startswith("learned")]
    assert learned == [(3, 0, "learned sigma2 (MLE)")]  # MLE sigma2 = 0.25 < 1
