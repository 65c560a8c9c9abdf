# The obvious Python baseline beside the CPU student (issue 16): scikit-learn TfidfVectorizer pipelines
# on the same text blocks and the same outer folds as scripts/student-nested-cv.ts, every
# hyper-parameter chosen inside the training folds (GridSearchCV in cross_val_predict: nested CV).
# Input: the JSON scripts/sklearn-baselines.ts writes ({task, blocks, weights, ngrams, rows:[{fields,
# label, fold, aux?}]}); output: JSON on stdout (predictions of the scored rows, in their order). Needs scikit-learn (Debian: python3-sklearn).
import json, sys, time, warnings
import numpy as np
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV, PredefinedSplit, StratifiedKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

warnings.simplefilter('ignore', ConvergenceWarning)
warnings.simplefilter('ignore', FutureWarning)
data = json.load(open(sys.argv[1]))
inner_k, seed = int(sys.argv[2]), int(sys.argv[3])
blocks, weights = data['blocks'], data['weights']
ngrams = [tuple(n) for n in data.get('ngrams', [[1, 3]])]
X = np.array([[r['fields'][b] for b in blocks] for r in data['rows']], dtype=object)
y = np.array([r['label'] for r in data['rows']])
fold = np.array([r['fold'] for r in data['rows']])
# auxiliary rows (LLM rationales of a row, `aux` = the source row's index): trained on only where their
# source row is, never scored
aux = np.array([r.get('aux', -1) for r in data['rows']])
scored = aux < 0


def inner_splits(train_idx):
    # stratified folds of the scored training rows; each auxiliary row joins its source row's training side
    own = train_idx[scored[train_idx]]
    pos = {i: p for p, i in enumerate(train_idx)}
    out = []
    for a, b in StratifiedKFold(inner_k, shuffle=True, random_state=seed).split(own, y[own]):
        train_rows = set(own[a].tolist())
        extra = [i for i in train_idx if aux[i] >= 0 and aux[i] in train_rows]
        out.append((np.array([pos[i] for i in sorted(train_rows) + extra]), np.array([pos[i] for i in own[b]])))
    return out


def features():
    # one char 1-3-gram TF-IDF per text block (sublinear tf, l2), weighted like the student's blocks
    return ColumnTransformer(
        [(b, TfidfVectorizer(analyzer='char', ngram_range=(1, 3), sublinear_tf=True), i) for i, b in enumerate(blocks)],
        transformer_weights={b: weights.get(b, 1.0) for b in blocks},
    )


models = {
    'LogisticRegression': (LogisticRegression(class_weight='balanced', max_iter=100), {'clf__C': [1, 10, 100]}),
    'LinearSVC': (LinearSVC(class_weight='balanced'), {'clf__C': [0.1, 1, 10]}),
    'ComplementNB': (ComplementNB(), {'clf__alpha': [0.1, 0.3, 1.0]}),
}
out = {'sklearn': sklearn.__version__, 'models': {}}
for name, (clf, grid) in models.items():
    t0 = time.time()
    pred = np.empty(len(y), dtype=object)
    chosen = []
    for f in sorted(set(fold[scored])):
        tr = np.flatnonzero(fold != f)
        te = scored & (fold == f)
        search = GridSearchCV(
            Pipeline([('tfidf', features()), ('clf', clf)]),
            {**grid, 'tfidf__' + blocks[0] + '__min_df': [1, 2], **({'tfidf__' + b + '__ngram_range': [ngrams[0]] for b in blocks} if len(ngrams) == 1 else {})},
            scoring='f1_weighted',
            cv=inner_splits(tr),
            n_jobs=1,
        )
        if len(ngrams) > 1:
            # the same n-gram range for every block, one grid point per range
            search.param_grid = [{**search.param_grid, **{'tfidf__' + b + '__ngram_range': [n] for b in blocks}} for n in ngrams]
        search.fit(X[tr], y[tr])
        pred[te] = search.predict(X[te])
        chosen.append({k: v for k, v in search.best_params_.items()})
    out['models'][name] = {
        'predictions': [str(p) for p in pred[scored]],
        'weightedF1': f1_score(y[scored], pred[scored], average='weighted'),
        'chosen': chosen,
        'seconds': round(time.time() - t0, 1),
    }
    print(f'{name}: {100 * out["models"][name]["weightedF1"]:.2f} ({time.time() - t0:.0f} s)', file=sys.stderr, flush=True)
json.dump(out, sys.stdout)
