package dev.tokenwise.metrics.meters;

/**
 * How many label values the meters keep apart.
 *
 * @param maxTeams teams with a {@code team} label of their own; later ones are {@code other}
 * @param maxModels models with a {@code model} label of their own; later ones are {@code other}
 */
public record MeterSettings(int maxTeams, int maxModels) {
    /** 100 teams, 50 models: at most a few thousand series per metric. */
    public static final MeterSettings DEFAULTS = new MeterSettings(100, 50);

    public MeterSettings {
        if (maxTeams < 1) {
            throw new IllegalArgumentException("maxTeams: " + maxTeams + " (expected: > 0)");
        }
        if (maxModels < 1) {
            throw new IllegalArgumentException("maxModels: " + maxModels + " (expected: > 0)");
        }
    }
}
